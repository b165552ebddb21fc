import Foundation
import GRDB
import LicenceCore
import LicenceLog

/// The transparency log on SQLite: `log_entry` (index, leaf data, leaf hash), `log_hash` (the
/// hashes of levels 1 and above), `log_checkpoint` (signed checkpoints). Appends run inside the
/// write transaction of the change they record, and SQLite has one writer at a time, so leaves are
/// in commit order.
extension SQLiteRegistry {
    static func logSize(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entry")) ?? 0
    }

    /// Appends `leaves` at index `size` (the log's size, read in this transaction).
    static func appendLog(_ db: Database, size: Int64, leaves: [LogLeaf]) throws {
        guard !leaves.isEmpty, !LogRecord.disabled else { return }
        var edge: [Int: [LogHash]] = [:]
        for (level, range) in LogAppend.edge(size: size) { edge[level] = try hashes(db, level: level, range: range) }
        let plan = LogAppend(size: size, edge: edge, leaves: leaves.map(\.encoded))
        let entry = try db.cachedStatement(sql: "INSERT INTO log_entry (idx, data, hash) VALUES (?, ?, ?)")
        for item in plan.entries { try entry.execute(arguments: [item.index, Data(item.data), Data(item.hash)]) }
        let node = try db.cachedStatement(sql: "INSERT INTO log_hash (level, idx, hash) VALUES (?, ?, ?)")
        for item in plan.hashes { try node.execute(arguments: [item.level, item.index, Data(item.hash)]) }
    }

    static func hashes(_ db: Database, level: Int, range: Range<Int64>) throws -> [LogHash] {
        guard !range.isEmpty else { return [] }
        let rows: [Data]
        if level == 0 {
            rows = try Data.fetchAll(db.cachedStatement(sql: "SELECT hash FROM log_entry WHERE idx >= ? AND idx < ? ORDER BY idx"),
                                     arguments: [range.lowerBound, range.upperBound])
        } else {
            rows = try Data.fetchAll(db.cachedStatement(sql: """
                SELECT hash FROM log_hash WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx
                """), arguments: [level, range.lowerBound, range.upperBound])
        }
        return rows.map { [UInt8]($0) }
    }

    /// Status events after `seq`, with the issuance data of each licence's first event.
    static func loggedEvents(_ db: Database, after seq: Int64, limit: Int) throws -> [LoggedEvent] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT e.seq, e.licence_id, e.status, e.at, e.log_index,
                   e.seq = (SELECT MIN(f.seq) FROM status_event f WHERE f.licence_id = e.licence_id) AS first,
                   l.signed, l.kid, l.issued_at
            FROM status_event e JOIN licence l ON l.id = e.licence_id
            WHERE e.seq > ? ORDER BY e.seq LIMIT ?
            """), arguments: [seq, limit]).map { row in
            var event = LoggedEvent(seq: row["seq"], licenceID: row["licence_id"], status: row["status"], at: row["at"],
                                    logIndex: row["log_index"])
            if row["first"] as Bool {
                let leaf = LogRecord.issuance(event.licenceID, signed: [UInt8](row["signed"] as Data), kid: row["kid"],
                                              issuedAt: row["issued_at"])
                if case .issuance(_, let hash, let kid, let issuedAt) = leaf {
                    event.issuance = .init(coseHash: hash, kid: kid, issuedAt: issuedAt)
                }
            }
            return event
        }
    }

    /// Gives every status event of a registry made before the log its leaf, in event order (the
    /// order of commits), and each licence the index of its issuance leaf.
    static func backfillLog(_ db: Database) throws {
        var after: Int64 = 0
        while true {
            let events = try loggedEvents(db, after: after, limit: 5000)
            guard let last = events.last else { return }
            let size = try logSize(db)
            try appendLog(db, size: size, leaves: events.map(\.leaf))
            for (offset, event) in events.enumerated() {
                try db.execute(sql: "UPDATE status_event SET log_index = ? WHERE seq = ?", arguments: [size + Int64(offset), event.seq])
                if event.issuance != nil {
                    try db.execute(sql: "UPDATE licence SET log_index = ? WHERE id = ?", arguments: [size + Int64(offset), event.licenceID])
                }
            }
            after = last.seq
        }
    }

    // MARK: TransparencyLogStore

    public func logSize() async throws(RegistryError) -> Int64 {
        try await read { db in try Self.logSize(db) }
    }

    public func logHashes(level: Int, range: Range<Int64>) async throws(RegistryError) -> [LogHash] {
        try await read { db in try Self.hashes(db, level: level, range: range) }
    }

    public func logEntries(_ range: Range<Int64>) async throws(RegistryError) -> [[UInt8]] {
        try await read { db in
            try Data.fetchAll(db.cachedStatement(sql: "SELECT data FROM log_entry WHERE idx >= ? AND idx < ? ORDER BY idx"),
                              arguments: [range.lowerBound, range.upperBound]).map { [UInt8]($0) }
        }
    }

    public func logIndex(of licence: LicenceIdentifier) async throws(RegistryError) -> Int64? {
        let id = licence.description
        return try await read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT log_index FROM licence WHERE id = ?"), arguments: [id])
        }
    }

    public func latestCheckpoint() async throws(RegistryError) -> StoredCheckpoint? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM log_checkpoint ORDER BY size DESC LIMIT 1").map(Self.checkpoint(from:))
        }
    }

    public func checkpoints() async throws(RegistryError) -> [StoredCheckpoint] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM log_checkpoint ORDER BY size").map(Self.checkpoint(from:)) }
    }

    static func checkpoint(from row: Row) -> StoredCheckpoint {
        StoredCheckpoint(size: row["size"], root: [UInt8](row["root"] as Data), note: row["note"], signedAt: row["signed_at"])
    }

    public func addCheckpoint(_ checkpoint: StoredCheckpoint) async throws(RegistryError) -> Bool {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO log_checkpoint (size, root, note, signed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, arguments: [checkpoint.size, Data(checkpoint.root), checkpoint.note, checkpoint.signedAt])
            return db.changesCount == 1
        }
    }

    public func loggedEvents(after seq: Int64, limit: Int) async throws(RegistryError) -> [LoggedEvent] {
        try await read { db in try Self.loggedEvents(db, after: seq, limit: limit) }
    }

    public func firstPublicURL() async throws(RegistryError) -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT base_url FROM status_list ORDER BY id LIMIT 1") }
    }

    public func licenceCount() async throws(RegistryError) -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM licence") ?? 0 }
    }
}
