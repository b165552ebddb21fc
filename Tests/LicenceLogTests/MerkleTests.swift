import Crypto
import Foundation
import LicenceCore
import Testing
@testable import LicenceLog

/// A tree kept whole in memory, stored the way the registry stores it (hashes of every level).
struct MemoryTree: LogHashReader {
    var levels: [[LogHash]] = [[]]
    var leaves: [[UInt8]] = []

    init(_ leaves: [[UInt8]]) {
        append(leaves)
    }

    mutating func append(_ data: [[UInt8]]) {
        var edge: [Int: [LogHash]] = [:]
        for (level, range) in LogAppend.edge(size: Int64(leaves.count)) {
            edge[level] = Array(levels[level][Int(range.lowerBound)..<Int(range.upperBound)])
        }
        let plan = LogAppend(size: Int64(leaves.count), edge: edge, leaves: data)
        for entry in plan.entries {
            #expect(entry.index == Int64(levels[0].count))
            levels[0].append(entry.hash)
        }
        for node in plan.hashes {
            while levels.count <= node.level { levels.append([]) }
            #expect(node.index == Int64(levels[node.level].count))
            levels[node.level].append(node.hash)
        }
        leaves += data
        #expect(plan.newSize == Int64(leaves.count))
    }

    func hashes(level: Int, range: Range<Int64>) async throws -> [LogHash] {
        Array(levels[level][Int(range.lowerBound)..<Int(range.upperBound)])
    }
}

/// RFC 9162's definitions, as written: the reference the stored-hash algorithms are checked against.
enum Reference {
    static func mth(_ leaves: ArraySlice<[UInt8]>) -> LogHash {
        if leaves.isEmpty { return Array(SHA256.hash(data: [UInt8]())) }
        if leaves.count == 1 { return Merkle.leafHash(leaves.first!) }
        let k = Int(Merkle.split(Int64(leaves.count)))
        return Merkle.nodeHash(mth(leaves.prefix(k)), mth(leaves.dropFirst(k)))
    }

    static func path(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [LogHash] {
        guard leaves.count > 1 else { return [] }
        let k = Int(Merkle.split(Int64(leaves.count)))
        if m < k { return path(m, leaves.prefix(k)) + [mth(leaves.dropFirst(k))] }
        return path(m - k, leaves.dropFirst(k)) + [mth(leaves.prefix(k))]
    }

    static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ complete: Bool) -> [LogHash] {
        if m == leaves.count { return complete ? [] : [mth(leaves)] }
        let k = Int(Merkle.split(Int64(leaves.count)))
        if m <= k { return subproof(m, leaves.prefix(k), complete) + [mth(leaves.dropFirst(k))] }
        return subproof(m - k, leaves.dropFirst(k), false) + [mth(leaves.prefix(k))]
    }
}

struct MerkleTests {
    /// The RFC 6962 reference implementation's test tree: roots of its first 1 … 8 leaves.
    @Test func referenceTreeRoots() async throws {
        let leaves: [[UInt8]] = [[], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
                                 Array(0x50...0x57), Array(0x60...0x6f)]
        let roots = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                     "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                     "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                     "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                     "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                     "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                     "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
        let tree = MemoryTree(leaves)
        var compact = CompactRange()
        for (index, root) in roots.enumerated() {
            #expect(Hex.encode(try await Merkle.rootHash(size: Int64(index + 1), tree)) == root)
            compact.append(leafHash: Merkle.leafHash(leaves[index]))
            #expect(Hex.encode(compact.root) == root)
        }
        #expect(Hex.encode(try await Merkle.rootHash(size: 0, tree)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// Roots, inclusion and consistency proofs from stored hashes against RFC 9162's recursive
    /// definitions, for trees that cross tile and level boundaries.
    @Test(arguments: [1, 2, 3, 255, 256, 257, 511, 512, 1000, 65_536, 65_537, 70_000])
    func storedHashesAgreeWithTheDefinitions(_ size: Int) async throws {
        var generator = SplitMix(seed: UInt64(size))
        let leaves = (0..<size).map { index in (0..<(index % 7)).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
        // Appended in uneven batches, as the registry appends them.
        var tree = MemoryTree([])
        var start = 0
        while start < size {
            let end = min(size, start + 1 + Int(generator.next() % 997))
            tree.append(Array(leaves[start..<end]))
            start = end
        }
        let all = leaves[...]
        let root = try await Merkle.rootHash(size: Int64(size), tree)
        #expect(root == Reference.mth(all))
        var compact = CompactRange()
        for leaf in leaves { compact.append(leafHash: Merkle.leafHash(leaf)) }
        #expect(compact.root == root && compact.size == Int64(size))

        let indexes = Set((0..<12).map { _ in Int(generator.next() % UInt64(size)) } + [0, size - 1])
        for index in indexes {
            let proof = try await Merkle.inclusionProof(index: Int64(index), size: Int64(size), tree)
            if size <= 2000 { #expect(proof == Reference.path(index, all)) }
            #expect(Merkle.verifyInclusion(leafHash: Merkle.leafHash(leaves[index]), index: Int64(index), size: Int64(size),
                                           proof: proof, root: root))
            #expect(!Merkle.verifyInclusion(leafHash: Merkle.leafHash([0xff] + leaves[index]), index: Int64(index),
                                            size: Int64(size), proof: proof, root: root))
        }
        let olds = Set((0..<12).map { _ in Int(generator.next() % UInt64(size)) + 1 } + [1, size])
        for old in olds {
            let proof = try await Merkle.consistencyProof(from: Int64(old), to: Int64(size), tree)
            if size <= 2000 { #expect(proof == Reference.subproof(old, all, true)) }
            let oldRoot = Reference.mth(all.prefix(old))
            #expect(Merkle.verifyConsistency(oldSize: Int64(old), newSize: Int64(size), oldRoot: oldRoot, newRoot: root, proof: proof))
            // A different old root, or a changed proof, does not verify.
            #expect(!Merkle.verifyConsistency(oldSize: Int64(old), newSize: Int64(size), oldRoot: Merkle.leafHash([9]), newRoot: root,
                                              proof: proof))
            if var changed = proof.first {
                changed[0] ^= 1
                #expect(!Merkle.verifyConsistency(oldSize: Int64(old), newSize: Int64(size), oldRoot: oldRoot, newRoot: root,
                                                  proof: [changed] + proof.dropFirst()))
            }
        }
    }

    /// Every pair of small trees: all consistency proofs verify, each against its own roots only.
    @Test func everyConsistencyProofOfSmallTrees() async throws {
        let leaves = (0..<40).map { [UInt8($0)] }
        let tree = MemoryTree(leaves)
        for new in 1...40 {
            let newRoot = Reference.mth(leaves.prefix(new))
            for old in 1...new {
                let proof = try await Merkle.consistencyProof(from: Int64(old), to: Int64(new), tree)
                let oldRoot = Reference.mth(leaves.prefix(old))
                #expect(Merkle.verifyConsistency(oldSize: Int64(old), newSize: Int64(new), oldRoot: oldRoot, newRoot: newRoot, proof: proof))
                if old < new {
                    #expect(!Merkle.verifyConsistency(oldSize: Int64(old), newSize: Int64(new), oldRoot: newRoot, newRoot: newRoot, proof: proof))
                }
            }
            for index in 0..<new {
                let proof = try await Merkle.inclusionProof(index: Int64(index), size: Int64(new), tree)
                #expect(Merkle.verifyInclusion(leafHash: Merkle.leafHash(leaves[index]), index: Int64(index), size: Int64(new),
                                               proof: proof, root: newRoot))
                #expect(!Merkle.verifyInclusion(leafHash: Merkle.leafHash(leaves[index]), index: Int64((index + 1) % new),
                                                size: Int64(new), proof: proof, root: newRoot) || new == 1)
            }
        }
    }
}

struct TileTests {
    @Test func pathsFollowTheLayout() {
        #expect(TilePath(level: 0, index: 1_234_067).description == "tile/0/x001/x234/067")
        #expect(TilePath(level: 2, index: 5, width: 17).description == "tile/2/005.p/17")
        #expect(TilePath(level: nil, index: 1000).description == "tile/entries/x001/000")
        for path in ["tile/0/x001/x234/067", "tile/2/005.p/17", "tile/entries/x001/000", "tile/63/000", "tile/entries/255.p/255"] {
            #expect(TilePath(path: path)?.description == path, "\(path)")
        }
        for bad in ["tile/00/000", "tile/64/000", "tile/0/1", "tile/0/0001", "tile/0/001/002", "tile/0/x000/001", "tile/0/000.p/256",
                    "tile/0/000.p/0", "tile/0/000.p/07", "tile/x/000", "tiles/0/000", "tile/0/abc", "tile/0/000.p"] {
            #expect(TilePath(path: bad) == nil, "\(bad)")
        }
    }

    /// The C2SP example: a tree of 70,000 leaves is 273 full level-0 tiles, a partial one of 112,
    /// a full level-1 tile, a partial one of 17 and a partial level-2 tile of 1.
    @Test func tilesOfATree() {
        #expect(TilePath.tile(level: 0, containing: 272 * 256, size: 70_000)?.isFull == true)
        #expect(TilePath.tile(level: 0, containing: 273 * 256, size: 70_000)?.description == "tile/0/273.p/112")
        #expect(TilePath.tile(level: 1, containing: 0, size: 70_000)?.isFull == true)
        #expect(TilePath.tile(level: 1, containing: 256, size: 70_000)?.description == "tile/1/001.p/17")
        #expect(TilePath.tile(level: 2, containing: 0, size: 70_000)?.description == "tile/2/000.p/1")
        #expect(TilePath.tile(level: 3, containing: 0, size: 70_000) == nil)
        #expect(TilePath.tile(level: 1, containing: 0, size: 256)?.description == "tile/1/000.p/1")
    }
}

struct CheckpointTests {
    /// The example of the C2SP signed-note specification.
    @Test func theSpecificationsExampleNoteVerifies() throws {
        let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        let parts = vkey.split(separator: "+")
        let material = [UInt8](Data(base64Encoded: String(parts[2]))!)
        let key = SignedNote.Key(name: "example.com/foo", publicKey: Array(material.dropFirst()))
        #expect(Hex.encode(key.id) == "530d903a" && key.verifierKey == vkey)
        let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
        let verifier = try RawEd25519(key.publicKey)
        #expect(try SignedNote.open(note, key: key, verifier: verifier) == "This is an example message.\n")
        #expect(throws: SignedNote.Failure.badSignature) {
            try SignedNote.open(note.replacingOccurrences(of: "example message", with: "example massage"), key: key, verifier: verifier)
        }
        let other = SignedNote.Key(name: "example.com/bar", publicKey: key.publicKey)
        #expect(throws: SignedNote.Failure.noKnownSignature) { try SignedNote.open(note, key: other, verifier: verifier) }
    }

    @Test func checkpointsSignAndRead() throws {
        let privateKey = Curve25519.Signing.PrivateKey()
        let key = SignedNote.Key(name: "licence.example.gov.cn/v1/log", publicKey: Array(privateKey.publicKey.rawRepresentation))
        let checkpoint = Checkpoint(origin: key.name, size: 20_852_163, root: Array(repeating: 7, count: 32))
        #expect(checkpoint.text == "licence.example.gov.cn/v1/log\n20852163\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n")
        let note = try SignedNote.sign(checkpoint.text, key: key, signer: RawEd25519Signer(privateKey))
        let text = try SignedNote.open(note, key: key, verifier: try RawEd25519(key.publicKey))
        #expect(Checkpoint(text: text) == checkpoint)
        #expect(Checkpoint(text: "o\n01\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n") == nil)
        #expect(Checkpoint(text: "o\n1\nAAAA\n") == nil)
    }
}

struct LeafTests {
    @Test func leavesRoundTripStrictly() {
        let issuance = LogLeaf.issuance(identifier: "1.2.156.3005.2.x", coseHash: Array(repeating: 1, count: 32),
                                        kid: Array(repeating: 2, count: 8), issuedAt: 1_780_000_000)
        let change = LogLeaf.statusChange(identifier: "1.2.156.3005.2.x", status: "revoked", at: 1_780_000_100)
        for leaf in [issuance, change] { #expect(LogLeaf(decoding: leaf.encoded) == leaf) }
        #expect(Hex.encode(change.encoded) == "8401" + "70" + Hex.encode(Array("1.2.156.3005.2.x".utf8)) + "67" + Hex.encode(Array("revoked".utf8))
            + "1a" + String(1_780_000_100, radix: 16))
        var trailing = change.encoded
        trailing.append(0)
        #expect(LogLeaf(decoding: trailing) == nil)
        #expect(LogLeaf(decoding: CBOR.array([.unsigned(2), .text("x")]).encoded()) == nil)
    }
}

struct RawEd25519: SignatureVerifier {
    let key: Curve25519.Signing.PublicKey
    var algorithm: SignatureAlgorithm { .edDSA }
    init(_ raw: [UInt8]) throws { key = try Curve25519.Signing.PublicKey(rawRepresentation: raw) }
    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool { key.isValidSignature(signature, for: message) }
}

struct RawEd25519Signer: Signer {
    let key: Curve25519.Signing.PrivateKey
    init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }
    var algorithm: SignatureAlgorithm { .edDSA }
    var kid: [UInt8] { Array(repeating: 0, count: 8) }
    func sign(_ message: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: message)) }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
