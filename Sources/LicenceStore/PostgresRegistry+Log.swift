import Foundation
import LicenceCore
import LicenceLog
import NIOCore
import PostgresNIO

/// The transparency log on PostgreSQL, in the same tables as on SQLite. Every transaction that
/// appends leaves holds the event lock until it commits (see ``PostgresRegistry/lockEvents(_:)``),
/// so leaves are in commit order whichever host appends them.
extension PostgresRegistry {
    static func logSize(_ session: PostgresSession) async throws -> Int64 {
        try await session.scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entry", as: Int64.self) ?? 0
    }

    /// Appends `leaves` at index `size`; the caller holds the event lock.
    static func appendLog(_ session: PostgresSession, size: Int64, leaves: [LogLeaf]) async throws {
        guard !leaves.isEmpty, !LogRecord.disabled else { return }
        var edge: [Int: [LogHash]] = [:]
        for (level, range) in LogAppend.edge(size: size) { edge[level] = try await hashes(session, level: level, range: range) }
        let plan = LogAppend(size: size, edge: edge, leaves: leaves.map(\.encoded))
        try await session.execute("""
            INSERT INTO log_entry (idx, data, hash)
            SELECT * FROM unnest(\(plan.entries.map(\.index))::bigint[], \(plan.entries.map { ByteBuffer(bytes: $0.data) })::bytea[],
                                 \(plan.entries.map { ByteBuffer(bytes: $0.hash) })::bytea[])
            """)
        if !plan.hashes.isEmpty {
            try await session.execute("""
                INSERT INTO log_hash (level, idx, hash)
                SELECT * FROM unnest(\(plan.hashes.map { Int64($0.level) })::integer[], \(plan.hashes.map(\.index))::bigint[],
                                     \(plan.hashes.map { ByteBuffer(bytes: $0.hash) })::bytea[])
                """)
        }
    }

    static func hashes(_ session: PostgresSession, level: Int, range: Range<Int64>) async throws -> [LogHash] {
        guard !range.isEmpty else { return [] }
        let rows: [PostgresRow]
        if level == 0 {
            rows = try await session.rows("""
                SELECT hash FROM log_entry WHERE idx >= \(range.lowerBound) AND idx < \(range.upperBound) ORDER BY idx
                """)
        } else {
            rows = try await session.rows("""
                SELECT hash FROM log_hash WHERE level = \(Int64(level)) AND idx >= \(range.lowerBound) AND idx < \(range.upperBound) ORDER BY idx
                """)
        }
        return try rows.map { Array(try $0.decode(ByteBuffer.self).readableBytesView) }
    }

    static func loggedEvents(_ session: PostgresSession, after seq: Int64, limit: Int) async throws -> [LoggedEvent] {
        try await session.rows("""
            SELECT e.seq, e.licence_id, e.status, e.at, e.log_index,
                   e.seq = (SELECT MIN(f.seq) FROM status_event f WHERE f.licence_id = e.licence_id), l.signed, l.kid, l.issued_at
            FROM status_event e JOIN licence l ON l.id = e.licence_id
            WHERE e.seq > \(seq) ORDER BY e.seq LIMIT \(Int64(limit))
            """).map { row in
            let (seq, id, status, at, logIndex, first, signed, kid, issuedAt) =
                try row.decode((Int64, String, String, Int64, Int64?, Bool, ByteBuffer, String, Int64).self)
            var event = LoggedEvent(seq: seq, licenceID: id, status: status, at: at, logIndex: logIndex)
            if first, case .issuance(_, let hash, let kidBytes, let iat) = LogRecord.issuance(
                id, signed: Array(signed.readableBytesView), kid: kid, issuedAt: issuedAt) {
                event.issuance = .init(coseHash: hash, kid: kidBytes, issuedAt: iat)
            }
            return event
        }
    }

    /// Gives every status event of a registry made before the log its leaf, in event order.
    static func backfillLog(_ session: PostgresSession) async throws {
        try await lockEvents(session)
        var after: Int64 = 0
        while true {
            let events = try await loggedEvents(session, after: after, limit: 5000)
            guard let last = events.last else { return }
            let size = try await logSize(session)
            try await appendLog(session, size: size, leaves: events.map(\.leaf))
            let indexes = (0..<Int64(events.count)).map { size + $0 }
            try await session.execute("""
                UPDATE status_event SET log_index = u.log_index FROM unnest(\(events.map(\.seq))::bigint[], \(indexes)::bigint[]) AS u(seq, log_index)
                WHERE status_event.seq = u.seq
                """)
            let issued = events.indices.filter { events[$0].issuance != nil }
            try await session.execute("""
                UPDATE licence SET log_index = u.log_index
                FROM unnest(\(issued.map { events[$0].licenceID })::text[], \(issued.map { indexes[$0] })::bigint[]) AS u(id, log_index)
                WHERE licence.id = u.id
                """)
            after = last.seq
        }
    }

    // MARK: TransparencyLogStore

    public func logSize() async throws(RegistryError) -> Int64 {
        try await database.withSession { session in try await Self.logSize(session) }
    }

    public func logHashes(level: Int, range: Range<Int64>) async throws(RegistryError) -> [LogHash] {
        try await database.withSession { session in try await Self.hashes(session, level: level, range: range) }
    }

    public func logEntries(_ range: Range<Int64>) async throws(RegistryError) -> [[UInt8]] {
        try await database.withSession { session in
            try await session.rows("""
                SELECT data FROM log_entry WHERE idx >= \(range.lowerBound) AND idx < \(range.upperBound) ORDER BY idx
                """).map { Array(try $0.decode(ByteBuffer.self).readableBytesView) }
        }
    }

    public func logIndex(of licence: LicenceIdentifier) async throws(RegistryError) -> Int64? {
        try await database.withSession { session in
            guard let row = try await session.rows("SELECT log_index FROM licence WHERE id = \(licence.description)").first else {
                return nil
            }
            return try row.decode(Int64?.self)
        }
    }

    static let checkpointColumns = "size, root, note, signed_at"

    static func checkpoint(from row: PostgresRow) throws -> StoredCheckpoint {
        let (size, root, note, signedAt) = try row.decode((Int64, ByteBuffer, String, Int64).self)
        return StoredCheckpoint(size: size, root: Array(root.readableBytesView), note: note, signedAt: signedAt)
    }

    public func latestCheckpoint() async throws(RegistryError) -> StoredCheckpoint? {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.checkpointColumns) FROM log_checkpoint ORDER BY size DESC LIMIT 1")
                .first.map(Self.checkpoint(from:))
        }
    }

    public func checkpoints() async throws(RegistryError) -> [StoredCheckpoint] {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.checkpointColumns) FROM log_checkpoint ORDER BY size").map(Self.checkpoint(from:))
        }
    }

    public func addCheckpoint(_ checkpoint: StoredCheckpoint) async throws(RegistryError) -> Bool {
        try await database.withSession(idempotent: false) { session in
            try await session.rows("""
                INSERT INTO log_checkpoint (size, root, note, signed_at)
                VALUES (\(checkpoint.size), \(ByteBuffer(bytes: checkpoint.root)), \(checkpoint.note), \(checkpoint.signedAt))
                ON CONFLICT DO NOTHING RETURNING size
                """).count == 1
        }
    }

    public func loggedEvents(after seq: Int64, limit: Int) async throws(RegistryError) -> [LoggedEvent] {
        try await database.withSession { session in try await Self.loggedEvents(session, after: seq, limit: limit) }
    }

    public func firstPublicURL() async throws(RegistryError) -> String? {
        try await database.withSession { session in
            try await session.scalar("SELECT base_url FROM status_list ORDER BY id LIMIT 1", as: String.self)
        }
    }

    public func licenceCount() async throws(RegistryError) -> Int64 {
        try await database.withSession { session in try await session.scalar("SELECT COUNT(*) FROM licence", as: Int64.self) ?? 0 }
    }
}
