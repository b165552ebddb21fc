import Foundation
import GRDB
import GRDBSQLite
import LicenceCore

extension SQLiteRegistry {
    public func addAgency(_ agency: Agency, keyHash: [UInt8]) async throws(RegistryError) {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM agency WHERE code = ?", arguments: [agency.code]) == true {
                throw RegistryError(.conflict, "agency \(agency.code) already exists")
            }
            try db.execute(sql: "INSERT INTO agency (name, code, key_hash, grants, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [agency.name, agency.code, Data(keyHash), try JSONText.encode(agency.grants), agency.createdAt])
        }
    }

    public func agencies() async throws(RegistryError) -> [Agency] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM agency ORDER BY code").map(Self.agency(from:)) }
    }

    public func revokeAgency(code: String, now: Int64) async throws(RegistryError) -> Agency {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agency WHERE code = ?", arguments: [code]) else {
                throw RegistryError(.notFound, "no agency \(code); `elicence agencies list` shows them")
            }
            var agency = try Self.agency(from: row)
            guard agency.revokedAt == nil else { throw RegistryError(.conflict, "agency \(code) is already revoked") }
            try db.execute(sql: "UPDATE agency SET revoked_at = ? WHERE code = ?", arguments: [now, code])
            agency.revokedAt = now
            return agency
        }
    }

    public func agency(keyHash: [UInt8]) async throws(RegistryError) -> Agency? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM agency WHERE key_hash = ? AND revoked_at IS NULL"),
                             arguments: [Data(keyHash)]).map(Self.agency(from:))
        }
    }

    public func activeAgencies() async throws(RegistryError) -> [(keyHash: [UInt8], agency: Agency)] {
        let rows = try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agency WHERE revoked_at IS NULL").map { row in
                ([UInt8](row["key_hash"] as Data), try Self.agency(from: row))
            }
        }
        return rows.map { (keyHash: $0.0, agency: $0.1) }
    }

    static func agency(from row: Row) throws -> Agency {
        Agency(code: row["code"], name: row["name"], grants: try JSONText.decode([String].self, row["grants"]),
               createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    public func recordUsage(_ records: [UsageRecord]) async throws(RegistryError) {
        guard !records.isEmpty else { return }
        try await write { db in
            // The agencies of a batch are few: look each up once, not once a record.
            var agencyIDs: [String: Int64] = [:]
            let lookup = try db.cachedStatement(sql: "SELECT id FROM agency WHERE code = ?")
            let insert = try db.cachedStatement(sql: """
                INSERT INTO usage_record (agency_id, licence_id, action, cause, outcome, at, authority, authority_name)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            // Records arrive by the thousand a second: bound and stepped through SQLite's own calls,
            // which costs a fraction of building statement arguments for each.
            let handle = insert.sqliteStatement
            for record in records {
                let agencyID: Int64?
                if let known = agencyIDs[record.agency] {
                    agencyID = known
                } else {
                    agencyID = try Int64.fetchOne(lookup, arguments: [record.agency])
                    if let agencyID { agencyIDs[record.agency] = agencyID }
                }
                sqlite3_reset(handle)
                if let agencyID { sqlite3_bind_int64(handle, 1, agencyID) } else { sqlite3_bind_null(handle, 1) }
                Self.bind(record.licence, to: handle, at: 2)
                Self.bind(record.action.rawValue, to: handle, at: 3)
                Self.bind(record.cause, to: handle, at: 4)
                Self.bind(record.outcome, to: handle, at: 5)
                sqlite3_bind_int64(handle, 6, record.at)
                Self.bind(record.authority, to: handle, at: 7)
                Self.bind(record.authorityName, to: handle, at: 8)
                let status = sqlite3_step(handle)
                guard status == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: status),
                                        message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: insert.sql)
                }
            }
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
    }

    /// Binds text (copied by SQLite) or NULL.
    private static func bind(_ text: String?, to statement: OpaquePointer, at index: Int32) {
        guard var text else {
            sqlite3_bind_null(statement, index)
            return
        }
        text.withUTF8 { bytes in
            // An empty buffer may have no address, which SQLite would bind as NULL.
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                _ = sqlite3_bind_text(statement, index, "", 0, sqliteTransient)
                return
            }
            _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(statement, index, $0, Int32(bytes.count), sqliteTransient)
            }
        }
    }

    public func usage(licenceID: String?, agencyCode: String?, limit: Int) async throws(RegistryError) -> [UsageRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let licenceID {
                conditions.append("u.licence_id = ?")
                arguments.append(licenceID)
            }
            if let agencyCode {
                conditions.append("a.code = ?")
                arguments.append(agencyCode)
            }
            arguments.append(limit)
            let sql = """
                SELECT a.code AS agency, u.licence_id, u.action, u.cause, u.outcome, u.at, u.authority, u.authority_name
                FROM usage_record u
                JOIN agency a ON a.id = u.agency_id \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY u.at DESC, u.id DESC LIMIT ?
                """
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                UsageRecord(agency: row["agency"], licence: row["licence_id"],
                            action: UsageRecord.Action(rawValue: row["action"]) ?? .read, cause: row["cause"],
                            outcome: row["outcome"], at: row["at"], authority: row["authority"],
                            authorityName: row["authority_name"])
            }
        }
    }

    public func usageStatistics(since: Int64) async throws(RegistryError) -> UsageStatistics {
        try await read { db in
            let perAgency = try Row.fetchAll(db, sql: """
                SELECT a.code, a.name, COUNT(*) AS n FROM usage_record u JOIN agency a ON a.id = u.agency_id
                WHERE u.at >= ? GROUP BY a.id ORDER BY n DESC, a.code
                """, arguments: [since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"], count: $0["n"]) }
            let perType = try Row.fetchAll(db, sql: """
                SELECT l.type_code AS code, l.type_name AS name, COUNT(*) AS n FROM usage_record u
                JOIN licence l ON l.id = u.licence_id WHERE u.at >= ? GROUP BY l.type_code ORDER BY n DESC, l.type_code
                """, arguments: [since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"], count: $0["n"]) }
            let perAuthority = try Row.fetchAll(db, sql: """
                SELECT authority AS code, MIN(authority_name) AS name, COUNT(*) AS n FROM usage_record
                WHERE at >= ? AND authority IS NOT NULL GROUP BY authority ORDER BY n DESC, authority
                """, arguments: [since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"] ?? "", count: $0["n"]) }
            return UsageStatistics(perAgency: perAgency, perType: perType, perAuthority: perAuthority)
        }
    }

    /// Deletes in transactions of 5,000 rows, so that no writer waits long for the lock.
    public func purgeUsage(before: Int64) async throws(RegistryError) -> Int {
        var removed = 0
        while true {
            let count = try await write { db in
                try db.execute(sql: """
                    DELETE FROM usage_record WHERE id IN (SELECT id FROM usage_record WHERE at < ? LIMIT 5000)
                    """, arguments: [before])
                return db.changesCount
            }
            removed += count
            if count < 5000 { return removed }
        }
    }
}

/// SQLite's `SQLITE_TRANSIENT`: copy the bound bytes before the call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
