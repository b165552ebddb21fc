import LicenceCore
import LicenceLog

/// `elicence log audit`: the registry against its transparency log, whichever engine holds them.
///
/// - every leaf's stored hash is the hash of its data, and the stored tree's root (made from its
///   stored hashes, as proofs are) equals the root recomputed from the leaves;
/// - every checkpoint kept has the root the leaves give at its size (no fork, no rewrite);
/// - every status event, in order, has its leaf, at the next index, recording what it says (a
///   licence's first event: its issuance, with the hash of its signed bytes, its key and `iat`), and
///   the log holds nothing else; every licence has its issuance.
public enum LogAudit {
    /// What the audit read, when nothing is wrong.
    public struct Summary: Sendable {
        public var leaves: Int64
        public var events: Int64
        public var licences: Int64
        public var checkpoints: Int
        public var root: LogHash
    }

    /// A difference between the registry and its log; the audit stops at the first.
    public struct Difference: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    static let page = 5000

    public static func run(_ store: any TransparencyLogStore) async throws -> Summary {
        let size = try await store.logSize()
        let checkpoints = try await store.checkpoints()
        var pendingCheckpoints = checkpoints[...]
        var compact = CompactRange()
        var leaves: [LogLeaf?] = []  // the current page's, decoded
        var pageStart: Int64 = 0

        func checkCheckpoints() throws {
            while let next = pendingCheckpoints.first, next.size <= compact.size {
                pendingCheckpoints = pendingCheckpoints.dropFirst()
                guard next.size == compact.size else { continue }
                guard next.root == compact.root else {
                    throw Difference(description: "the checkpoint of size \(next.size) has root \(Hex.encode(next.root)), but the log's "
                        + "first \(next.size) leaves give \(Hex.encode(compact.root)): the log was rewritten after it was signed")
                }
            }
        }

        // The leaves, their hashes and the checkpoints.
        var index: Int64 = 0
        try checkCheckpoints()
        while index < size {
            let end = min(size, index + Int64(page))
            let data = try await store.logEntries(index..<end)
            let stored = try await store.logHashes(level: 0, range: index..<end)
            guard data.count == Int(end - index), stored.count == data.count else {
                throw Difference(description: "the log has \(size) leaves but leaves \(index)…\(end - 1) cannot all be read")
            }
            for (offset, entry) in data.enumerated() {
                let hash = Merkle.leafHash(entry)
                guard hash == stored[offset] else {
                    throw Difference(description: "leaf \(index + Int64(offset)): its stored hash is not the hash of its data")
                }
                compact.append(leafHash: hash)
                try checkCheckpoints()
            }
            index = end
        }
        let storedRoot = try await Merkle.rootHash(size: size, RegistryLogReader(store))
        guard storedRoot == compact.root else {
            throw Difference(description: "the stored tree's root \(Hex.encode(storedRoot)) is not the root the leaves give, "
                + "\(Hex.encode(compact.root)): a stored hash of the tree was changed")
        }
        if let beyond = pendingCheckpoints.first {
            throw Difference(description: "a checkpoint of size \(beyond.size) was signed, but the log holds only \(size) leaves: "
                + "it was rolled back")
        }

        // The status events, in order, against the leaves.
        var events: Int64 = 0
        var issuances: Int64 = 0
        var after: Int64 = 0
        var expected: Int64 = 0
        func leaf(_ at: Int64) async throws -> LogLeaf? {
            if at < pageStart || at >= pageStart + Int64(leaves.count) {
                pageStart = at
                leaves = try await store.logEntries(at..<min(size, at + Int64(page))).map { LogLeaf(decoding: $0) }
            }
            return leaves[Int(at - pageStart)]
        }
        while true {
            let batch = try await store.loggedEvents(after: after, limit: page)
            guard let last = batch.last else { break }
            for event in batch {
                let what = "status event #\(event.seq) (\(event.leaf))"
                guard let logged = event.logIndex else { throw Difference(description: "\(what) has no leaf in the log") }
                if logged > expected, expected < size, let orphan = try await leaf(expected) {
                    throw Difference(description: "log leaf \(expected) (\(orphan)) has no status event in the registry: "
                        + "the event was deleted")
                }
                guard logged == expected else {
                    throw Difference(description: "\(what) is recorded at leaf \(logged); the next leaf in order is \(expected)")
                }
                guard logged < size else { throw Difference(description: "\(what) is missing from the log (it holds \(size) leaves)") }
                guard let found = try await leaf(logged) else {
                    throw Difference(description: "log leaf \(logged) is not a leaf this registry writes")
                }
                guard found == event.leaf else {
                    throw Difference(description: "log leaf \(logged) records \(found), but \(what) says otherwise")
                }
                if event.issuance != nil { issuances += 1 }
                events += 1
                expected += 1
            }
            after = last.seq
        }
        if expected < size {
            let orphan = try await leaf(expected)
            throw Difference(description: "log leaf \(expected) (\(orphan.map(String.init(describing:)) ?? "unreadable")) has no status event "
                + "in the registry")
        }
        let licences = try await store.licenceCount()
        guard licences == issuances else {
            throw Difference(description: "the registry holds \(licences) licences, but \(issuances) issuances are logged")
        }
        return Summary(leaves: size, events: events, licences: licences, checkpoints: checkpoints.count, root: compact.root)
    }
}
