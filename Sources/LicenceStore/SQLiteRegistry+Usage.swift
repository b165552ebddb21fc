import Foundation
import GRDB
import GRDBSQLite

/// Usage records, compactly: every authenticated verification writes one, so at full speed they are
/// what the registry grows by. A record holds integers only: its time, the agency's key, the licence's
/// status slot (list and index, permanent for the licence and indexed by the licence table already),
/// and keys into `usage_text` for the action, cause, outcome, the authority of another province's
/// licence and the identifier of a licence not in this registry. Record ids follow the order records
/// are written, which is the order of their times, so reads go newest first by id, and retention
/// deletes from the oldest id on, with no index on the time.
///
/// The index by licence leads with the record's bucket, its id divided by 2^18: records arrive for
/// licences in no order, and an index by licence alone would take each into a page of its own once
/// it outgrew a transaction, so that an insert would cost more the more records there are. Within the
/// newest bucket a transaction's records share its few pages; a licence's records are found with one
/// seek a bucket (38 for ten million records).
extension SQLiteRegistry {
    /// Records a bucket of the index by licence holds: 2^18.
    static let usageBucketBits = 18
    /// Schema v7: moves records of the earlier, text-per-record form into the compact one (same ids),
    /// and leaves a view, `usage_record_text`, with the earlier columns for whoever reads the table by hand.
    static func compactUsageRecords(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE usage_text (
                id INTEGER PRIMARY KEY,
                text TEXT NOT NULL UNIQUE
            );
            INSERT OR IGNORE INTO usage_text (text)
                SELECT action FROM usage_record UNION SELECT outcome FROM usage_record
                UNION SELECT cause FROM usage_record WHERE cause IS NOT NULL
                UNION SELECT authority FROM usage_record WHERE authority IS NOT NULL
                UNION SELECT authority_name FROM usage_record WHERE authority_name IS NOT NULL
                UNION SELECT u.licence_id FROM usage_record u
                      WHERE u.licence_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM licence l WHERE l.id = u.licence_id);
            CREATE TABLE usage_compact (
                id INTEGER PRIMARY KEY,
                at INTEGER NOT NULL,
                agency_id INTEGER,
                status_list INTEGER,
                status_index INTEGER,
                other_licence INTEGER,
                action INTEGER NOT NULL,
                cause INTEGER,
                outcome INTEGER NOT NULL,
                authority INTEGER,
                authority_name INTEGER
            );
            INSERT INTO usage_compact (id, at, agency_id, status_list, status_index, other_licence, action, cause, outcome,
                                       authority, authority_name)
                SELECT u.id, u.at, u.agency_id, l.status_list, l.status_index,
                       CASE WHEN l.id IS NULL THEN (SELECT id FROM usage_text WHERE text = u.licence_id) END,
                       (SELECT id FROM usage_text WHERE text = u.action), (SELECT id FROM usage_text WHERE text = u.cause),
                       (SELECT id FROM usage_text WHERE text = u.outcome), (SELECT id FROM usage_text WHERE text = u.authority),
                       (SELECT id FROM usage_text WHERE text = u.authority_name)
                FROM usage_record u LEFT JOIN licence l ON l.id = u.licence_id ORDER BY u.id;
            DROP TABLE usage_record;
            ALTER TABLE usage_compact RENAME TO usage_record;
            CREATE INDEX usage_record_licence ON usage_record(id >> \(usageBucketBits), status_list, status_index)
                WHERE status_list IS NOT NULL;
            CREATE INDEX usage_record_other_licence ON usage_record(other_licence) WHERE other_licence IS NOT NULL;
            CREATE INDEX usage_record_agency ON usage_record(agency_id);
            CREATE VIEW usage_record_text AS
                SELECT u.id, u.at, u.agency_id, a.code AS agency, COALESCE(l.id, o.text) AS licence_id, ac.text AS action,
                       c.text AS cause, oc.text AS outcome, au.text AS authority, an.text AS authority_name
                FROM usage_record u
                LEFT JOIN agency a ON a.id = u.agency_id
                LEFT JOIN licence l ON l.status_list = u.status_list AND l.status_index = u.status_index
                LEFT JOIN usage_text o ON o.id = u.other_licence
                LEFT JOIN usage_text ac ON ac.id = u.action
                LEFT JOIN usage_text c ON c.id = u.cause
                LEFT JOIN usage_text oc ON oc.id = u.outcome
                LEFT JOIN usage_text au ON au.id = u.authority
                LEFT JOIN usage_text an ON an.id = u.authority_name;
            """)
    }

    /// The buckets of the index by licence, newest first, as a table `bucket(n)` for a query to join.
    static let usageBuckets = """
        WITH RECURSIVE bucket(n) AS (
            SELECT (SELECT MAX(id) FROM usage_record) >> \(usageBucketBits)
            UNION ALL
            SELECT n - 1 FROM bucket WHERE n > (SELECT MIN(id) FROM usage_record) >> \(usageBucketBits))
        """

    /// The records of one licence of the registry, by its slot (two arguments), through the index.
    static let usageOfSlot = """
        bucket JOIN usage_record u ON (u.id >> \(usageBucketBits)) = bucket.n AND u.status_list = ? AND u.status_index = ?
        """

    public func recordUsage(_ records: [UsageRecord]) async throws(RegistryError) {
        guard !records.isEmpty else { return }
        try await write { db in
            var writer = try UsageWriter(db)
            for record in records { try writer.insert(record) }
            writer.finish()
        }
    }

    public func usage(licenceID: String?, agencyCode: String?, limit: Int) async throws(RegistryError) -> [UsageRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            var (with, from) = ("", "usage_record u")
            if let licenceID {
                // The licence's slot when it is in the registry, else the text of an identifier seen before.
                if let slot = try Row.fetchOne(db, sql: "SELECT status_list, status_index FROM licence WHERE id = ?", arguments: [licenceID]) {
                    (with, from) = (Self.usageBuckets, Self.usageOfSlot)
                    arguments += [slot["status_list"] as Int64, slot["status_index"] as Int64]
                } else {
                    conditions.append("u.other_licence = (SELECT id FROM usage_text WHERE text = ?)")
                    arguments.append(licenceID)
                }
            }
            if let agencyCode {
                conditions.append("u.agency_id = (SELECT id FROM agency WHERE code = ?)")
                arguments.append(agencyCode)
            }
            arguments.append(limit)
            let sql = [with, UsageRecordQuery.columns, "FROM", from, UsageRecordQuery.joins,
                       conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), "ORDER BY u.id DESC LIMIT ?"]
                .joined(separator: "\n")
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                UsageRecord(agency: row["agency"], licence: row["licence_id"],
                            action: UsageRecord.Action(rawValue: row["action"]) ?? .read, cause: row["cause"],
                            outcome: row["outcome"], at: row["at"], authority: row["authority"],
                            authorityName: row["authority_name"])
            }
        }
    }

    /// The first record written at or after `time`: a binary search over ids, whose order is that of
    /// the records' times, so that counting the last days does not read the months before them.
    static func firstUsageID(atOrAfter time: Int64, _ db: Database) throws -> Int64? {
        guard var low = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM usage_record"),
              var high = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM usage_record") else { return nil }
        let at = try db.cachedStatement(sql: "SELECT id, at FROM usage_record WHERE id >= ? ORDER BY id LIMIT 1")
        guard let last = try Row.fetchOne(at, arguments: [high]), (last["at"] as Int64) >= time else { return nil }
        while low < high {
            let middle = low + (high - low) / 2
            guard let row = try Row.fetchOne(at, arguments: [middle]) else { break }
            if (row["at"] as Int64) >= time { high = row["id"] } else { low = (row["id"] as Int64) + 1 }
        }
        return high
    }

    public func usageStatistics(since: Int64) async throws(RegistryError) -> UsageStatistics {
        try await read { db in
            guard let first = try Self.firstUsageID(atOrAfter: since, db) else {
                return UsageStatistics(perAgency: [], perType: [], perAuthority: [])
            }
            let perAgency = try Row.fetchAll(db, sql: """
                SELECT a.code, a.name, n FROM (SELECT agency_id, COUNT(*) AS n FROM usage_record WHERE id >= ? AND at >= ?
                GROUP BY agency_id) JOIN agency a ON a.id = agency_id ORDER BY n DESC, a.code
                """, arguments: [first, since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"], count: $0["n"]) }
            let perType = try Row.fetchAll(db, sql: """
                SELECT l.type_code AS code, MIN(l.type_name) AS name, COUNT(*) AS n FROM usage_record u
                JOIN licence l ON l.status_list = u.status_list AND l.status_index = u.status_index
                WHERE u.id >= ? AND u.at >= ? GROUP BY l.type_code ORDER BY n DESC, l.type_code
                """, arguments: [first, since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"], count: $0["n"]) }
            let perAuthority = try Row.fetchAll(db, sql: """
                SELECT au.text AS code, an.text AS name, n FROM (SELECT authority, MIN(authority_name) AS authority_name,
                COUNT(*) AS n FROM usage_record WHERE id >= ? AND at >= ? AND authority IS NOT NULL GROUP BY authority)
                JOIN usage_text au ON au.id = authority LEFT JOIN usage_text an ON an.id = authority_name ORDER BY n DESC, au.text
                """, arguments: [first, since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"] ?? "", count: $0["n"]) }
            return UsageStatistics(perAgency: perAgency, perType: perType, perAuthority: perAuthority)
        }
    }

    /// Deletes from the oldest record on, in transactions of 5,000 rows, so that no writer waits long
    /// for the lock; it stops at the first record of the retention period, so a record is deleted once
    /// it and every record written before it are past retention.
    public func purgeUsage(before: Int64) async throws(RegistryError) -> Int {
        var removed = 0
        while true {
            let count = try await write { db in
                try db.execute(sql: """
                    DELETE FROM usage_record WHERE id IN (SELECT id FROM usage_record ORDER BY id LIMIT 5000) AND at < ?
                    """, arguments: [before])
                return db.changesCount
            }
            removed += count
            if count < 5000 { return removed }
        }
    }
}

/// Writes one transaction's usage records through SQLite's own calls (records arrive by the thousand
/// a second), looking up each agency, text and licence once per transaction.
private struct UsageWriter {
    private let db: Database
    private let insert: OpaquePointer
    private let insertSQL: String
    private let slotLookup: OpaquePointer
    private var agencies: [String: Int64?] = [:]
    private var texts: [String: Int64] = [:]
    private var slots: [String: (list: Int64, index: Int64)?] = [:]

    init(_ db: Database) throws {
        self.db = db
        let insert = try db.cachedStatement(sql: """
            INSERT INTO usage_record (at, agency_id, status_list, status_index, other_licence, action, cause, outcome, authority,
                                      authority_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        self.insert = insert.sqliteStatement
        insertSQL = insert.sql
        slotLookup = try db.cachedStatement(sql: "SELECT status_list, status_index FROM licence WHERE id = ?").sqliteStatement
    }

    mutating func insert(_ record: UsageRecord) throws {
        let agency = try agencyID(record.agency)
        let slot = try record.licence.map { try self.slot($0) } ?? nil
        let other = try slot == nil ? record.licence.map { try text($0) } : nil
        let values: [Int64?] = [
            record.at, agency, slot?.list, slot?.index, other, try text(record.action.rawValue), try record.cause.map { try text($0) },
            try text(record.outcome), try record.authority.map { try text($0) }, try record.authorityName.map { try text($0) },
        ]
        sqlite3_reset(insert)
        for (offset, value) in values.enumerated() {
            if let value { sqlite3_bind_int64(insert, Int32(offset + 1), value) } else { sqlite3_bind_null(insert, Int32(offset + 1)) }
        }
        try step(insert, sql: insertSQL)
    }

    func finish() {
        sqlite3_reset(insert)
        sqlite3_reset(slotLookup)
        sqlite3_clear_bindings(slotLookup)
    }

    private mutating func agencyID(_ code: String) throws -> Int64? {
        if let known = agencies[code] { return known }
        let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM agency WHERE code = ?"), arguments: [code])
        agencies[code] = id
        return id
    }

    private mutating func text(_ value: String) throws -> Int64 {
        if let known = texts[value] { return known }
        let id: Int64
        if let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM usage_text WHERE text = ?"), arguments: [value]) {
            id = existing
        } else {
            try db.cachedStatement(sql: "INSERT INTO usage_text (text) VALUES (?)").execute(arguments: [value])
            id = db.lastInsertedRowID
        }
        texts[value] = id
        return id
    }

    private mutating func slot(_ licence: String) throws -> (list: Int64, index: Int64)? {
        if let known = slots[licence] { return known }
        sqlite3_reset(slotLookup)
        var value = licence
        value.withUTF8 { bytes in
            // An empty buffer may have no address, which SQLite would bind as NULL.
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                _ = sqlite3_bind_text(slotLookup, 1, "", 0, sqliteTransient)
                return
            }
            _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(slotLookup, 1, $0, Int32(bytes.count), sqliteTransient)
            }
        }
        let status = sqlite3_step(slotLookup)
        let slot: (list: Int64, index: Int64)?
        switch status {
        case SQLITE_ROW: slot = (sqlite3_column_int64(slotLookup, 0), sqlite3_column_int64(slotLookup, 1))
        case SQLITE_DONE: slot = nil
        default: throw error(status, sql: "SELECT status_list, status_index FROM licence WHERE id = ?")
        }
        slots[licence] = slot
        return slot
    }

    private func step(_ statement: OpaquePointer, sql: String) throws {
        let status = sqlite3_step(statement)
        guard status == SQLITE_DONE else { throw error(status, sql: sql) }
    }

    private func error(_ status: Int32, sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: status), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
    }
}

/// SQLite's `SQLITE_TRANSIENT`: copy the bound bytes before the call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
