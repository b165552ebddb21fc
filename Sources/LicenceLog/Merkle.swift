import Crypto

/// A SHA-256 hash of the tree: 32 bytes.
public typealias LogHash = [UInt8]

/// Where a tree's stored hashes come from: the registry, or tiles fetched over HTTP.
///
/// Level `l` hash `k` is the Merkle Tree Hash of the leaves `[k·256^l, (k+1)·256^l)`: level 0 holds
/// the leaf hashes, and every hash of level `l + 1` is the hash of 256 hashes of level `l` — exactly
/// the hashes that C2SP tlog-tiles serves as tiles.
public protocol LogHashReader: Sendable {
    func hashes(level: Int, range: Range<Int64>) async throws -> [LogHash]
}

/// The Merkle tree of RFC 9162 §2.1 (SHA-256; leaf prefix 0x00, node prefix 0x01), computed from
/// stored hashes: roots, inclusion and consistency proofs, and their verification.
public enum Merkle {
    /// Hashes a level of the stored tree holds in each block (a tile's width).
    public static let tileWidth = 256

    public static func leafHash(_ data: [UInt8]) -> LogHash {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: data)
        return Array(hasher.finalize())
    }

    public static func nodeHash(_ left: LogHash, _ right: LogHash) -> LogHash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root of an empty tree: the hash of the empty string.
    public static let emptyRoot: LogHash = Array(SHA256.hash(data: [UInt8]()))

    /// The root of a complete tree over `hashes` (a power of two of them).
    public static func completeRoot(_ hashes: [LogHash]) -> LogHash {
        precondition(!hashes.isEmpty && hashes.count & (hashes.count - 1) == 0, "a complete tree has a power of two of leaves")
        var level = hashes
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { nodeHash(level[$0], level[$0 + 1]) }
        }
        return level[0]
    }

    /// The largest power of two smaller than `n` (n ≥ 2).
    static func split(_ n: Int64) -> Int64 {
        var k: Int64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// MTH(D[start:end]). A complete, aligned subtree is made from stored hashes (at most 128 of one
    /// level); anything else is split as RFC 9162 splits it.
    public static func subtreeHash(_ start: Int64, _ end: Int64, _ reader: some LogHashReader) async throws -> LogHash {
        let count = end - start
        precondition(count > 0, "an empty range has no subtree hash")
        if count & (count - 1) == 0 && start % count == 0 {
            let exponent = count.trailingZeroBitCount
            let level = exponent / 8
            let span = Int64(1) << (8 * level)  // leaves under one hash of `level`
            let hashes = try await reader.hashes(level: level, range: (start / span)..<((start + count) / span))
            return completeRoot(hashes)
        }
        let k = split(count)
        let left = try await subtreeHash(start, start + k, reader)
        let right = try await subtreeHash(start + k, end, reader)
        return nodeHash(left, right)
    }

    /// The root of the tree of the first `size` leaves.
    public static func rootHash(size: Int64, _ reader: some LogHashReader) async throws -> LogHash {
        size == 0 ? emptyRoot : try await subtreeHash(0, size, reader)
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
    public static func inclusionProof(index: Int64, size: Int64, _ reader: some LogHashReader) async throws -> [LogHash] {
        precondition(index >= 0 && index < size, "the leaf is not in the tree")
        var proof: [LogHash] = []
        var (start, end, m) = (Int64(0), size, index)
        var siblings: [(Int64, Int64)] = []
        while end - start > 1 {
            let k = split(end - start)
            if m < k {
                siblings.append((start + k, end))
                end = start + k
            } else {
                siblings.append((start, start + k))
                start += k
                m -= k
            }
        }
        for (a, b) in siblings.reversed() { proof.append(try await subtreeHash(a, b, reader)) }
        return proof
    }

    /// The consistency proof between the trees of `oldSize` and `newSize` leaves (RFC 9162 §2.1.4.1).
    public static func consistencyProof(from oldSize: Int64, to newSize: Int64, _ reader: some LogHashReader) async throws -> [LogHash] {
        precondition(oldSize >= 0 && oldSize <= newSize, "the old tree must not be larger than the new one")
        guard oldSize > 0, oldSize < newSize else { return [] }
        var ranges: [(Int64, Int64)] = []
        var (start, end, m, complete) = (Int64(0), newSize, oldSize, true)
        while m != end - start {
            let n = end - start
            let k = split(n)
            if m <= k {
                ranges.append((start + k, end))
                end = start + k
            } else {
                ranges.append((start, start + k))
                start += k
                m -= k
                complete = false
            }
        }
        if !complete { ranges.append((start, end)) }
        var proof: [LogHash] = []
        for (a, b) in ranges.reversed() { proof.append(try await subtreeHash(a, b, reader)) }
        return proof
    }

    /// Whether `proof` shows `leafHash` at `index` in the tree of `size` leaves with root `root`
    /// (RFC 9162 §2.1.3.2).
    public static func verifyInclusion(leafHash: LogHash, index: Int64, size: Int64, proof: [LogHash], root: LogHash) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows the tree of `oldSize` leaves (root `oldRoot`) to be a prefix of the tree
    /// of `newSize` leaves (root `newRoot`) (RFC 9162 §2.1.4.2).
    public static func verifyConsistency(oldSize: Int64, newSize: Int64, oldRoot: LogHash, newRoot: LogHash,
                                         proof: [LogHash]) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}

/// The right edge of a tree: the roots of its complete subtrees, largest first. Enough to append
/// leaves and compute the new root, which is how a monitor follows a log without keeping it whole.
public struct CompactRange: Sendable, Hashable, Codable {
    public private(set) var size: Int64 = 0
    /// (leaves, root) of each complete subtree, largest first.
    public private(set) var subtrees: [Subtree] = []

    public struct Subtree: Sendable, Hashable, Codable {
        public var leaves: Int64
        public var hash: LogHash
    }

    public init() {}

    public mutating func append(leafHash: LogHash) {
        subtrees.append(Subtree(leaves: 1, hash: leafHash))
        size += 1
        while subtrees.count >= 2, subtrees[subtrees.count - 1].leaves == subtrees[subtrees.count - 2].leaves {
            let right = subtrees.removeLast()
            let left = subtrees.removeLast()
            subtrees.append(Subtree(leaves: left.leaves * 2, hash: Merkle.nodeHash(left.hash, right.hash)))
        }
    }

    public var root: LogHash {
        guard var root = subtrees.last?.hash else { return Merkle.emptyRoot }
        for subtree in subtrees.dropLast().reversed() { root = Merkle.nodeHash(subtree.hash, root) }
        return root
    }
}
