import Foundation
import GRDB
import GRDBSQLite
import LicenceCore

/// A verifying agency (用证部门) registered to use the HTTP API.
public struct Agency: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    /// Licence types of conditional sharing (有条件共享) whose details this agency may read.
    public var grants: [String]
    public var createdAt: Int64
    public var revokedAt: Int64?

    public var isActive: Bool { revokedAt == nil }

    public init(code: String, name: String, grants: [String], createdAt: Int64, revokedAt: Int64? = nil) {
        self.code = code
        self.name = name
        self.grants = grants
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// One use of a licence by an agency (用证记录): a verification or a registry read.
public struct UsageRecord: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        case verify, read, holderLookup = "holder_lookup", usageRead = "usage_read"
    }

    public var agency: String
    public var licence: String?
    public var action: Action
    /// 办事事由, from the `X-Use-Cause` header.
    public var cause: String?
    /// The verification outcome, or what a read returned (`details`, `status_only`, `not_found`).
    public var outcome: String
    public var at: Int64

    public init(agency: String, licence: String?, action: Action, cause: String?, outcome: String, at: Int64) {
        self.agency = agency
        self.licence = licence
        self.action = action
        self.cause = cause
        self.outcome = outcome
        self.at = at
    }
}

/// Counts of usage records since a time, per agency and per licence type.
public struct UsageStatistics: Sendable, Hashable, Codable {
    public struct Count: Sendable, Hashable, Codable {
        public var code: String
        public var name: String
        public var count: Int
    }

    public var perAgency: [Count]
    public var perType: [Count]
}

/// Agencies and usage records: the part of the registry the HTTP service needs for access control.
public protocol AgencyRegistry: Sendable {
    /// Registers an agency; `keyHash` is the SHA-256 of its API key (the key itself is never stored).
    func addAgency(_ agency: Agency, keyHash: [UInt8]) throws(RegistryError)
    func agencies() throws(RegistryError) -> [Agency]
    /// Revokes an agency's key; its next request is refused.
    func revokeAgency(code: String, now: Int64) throws(RegistryError) -> Agency
    /// The active agency whose key hashes to `keyHash`.
    func agency(keyHash: [UInt8]) throws(RegistryError) -> Agency?
    /// Every active agency with the SHA-256 of its key.
    func activeAgencies() throws(RegistryError) -> [(keyHash: [UInt8], agency: Agency)]

    func recordUsage(_ records: [UsageRecord]) throws(RegistryError)
    func usage(licenceID: String?, agencyCode: String?, limit: Int) throws(RegistryError) -> [UsageRecord]
    func usageStatistics(since: Int64) throws(RegistryError) -> UsageStatistics
    /// Deletes usage records older than `before`; returns how many.
    func purgeUsage(before: Int64) throws(RegistryError) -> Int
}

extension SQLiteRegistry: AgencyRegistry {
    public func addAgency(_ agency: Agency, keyHash: [UInt8]) throws(RegistryError) {
        try access {
            try pool.write { db in
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM agency WHERE code = ?", arguments: [agency.code]) == true {
                    throw RegistryError(.conflict, "agency \(agency.code) already exists")
                }
                try db.execute(sql: "INSERT INTO agency (name, code, key_hash, grants, created_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [agency.name, agency.code, Data(keyHash), try JSONText.encode(agency.grants), agency.createdAt])
            }
        }
    }

    public func agencies() throws(RegistryError) -> [Agency] {
        try access { try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM agency ORDER BY code").map(Self.agency(from:)) } }
    }

    public func revokeAgency(code: String, now: Int64) throws(RegistryError) -> Agency {
        try access {
            try pool.write { db in
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
    }

    public func agency(keyHash: [UInt8]) throws(RegistryError) -> Agency? {
        try access {
            try pool.read { db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM agency WHERE key_hash = ? AND revoked_at IS NULL"),
                                 arguments: [Data(keyHash)]).map(Self.agency(from:))
            }
        }
    }

    public func activeAgencies() throws(RegistryError) -> [(keyHash: [UInt8], agency: Agency)] {
        try access {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM agency WHERE revoked_at IS NULL").map { row in
                    ([UInt8](row["key_hash"] as Data), try Self.agency(from: row))
                }
            }
        }
    }

    static func agency(from row: Row) throws -> Agency {
        Agency(code: row["code"], name: row["name"], grants: try JSONText.decode([String].self, row["grants"]),
               createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    public func recordUsage(_ records: [UsageRecord]) throws(RegistryError) {
        guard !records.isEmpty else { return }
        try access {
            try pool.write { db in
                // The agencies of a batch are few: look each up once, not once a record.
                var agencyIDs: [String: Int64] = [:]
                let lookup = try db.cachedStatement(sql: "SELECT id FROM agency WHERE code = ?")
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO usage_record (agency_id, licence_id, action, cause, outcome, at) VALUES (?, ?, ?, ?, ?, ?)
                    """)
                // Records arrive by the thousand a second: bound and stepped through SQLite's own
                // calls, which costs a fraction of building statement arguments for each.
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

    public func usage(licenceID: String?, agencyCode: String?, limit: Int) throws(RegistryError) -> [UsageRecord] {
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
            SELECT a.code AS agency, u.licence_id, u.action, u.cause, u.outcome, u.at FROM usage_record u
            JOIN agency a ON a.id = u.agency_id \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY u.at DESC, u.id DESC LIMIT ?
            """
        let bound = StatementArguments(arguments)
        return try access {
            try pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: bound).map { row in
                    UsageRecord(agency: row["agency"], licence: row["licence_id"],
                                action: UsageRecord.Action(rawValue: row["action"]) ?? .read, cause: row["cause"],
                                outcome: row["outcome"], at: row["at"])
                }
            }
        }
    }

    public func usageStatistics(since: Int64) throws(RegistryError) -> UsageStatistics {
        try access {
            try pool.read { db in
                let perAgency = try Row.fetchAll(db, sql: """
                    SELECT a.code, a.name, COUNT(*) AS n FROM usage_record u JOIN agency a ON a.id = u.agency_id
                    WHERE u.at >= ? GROUP BY a.id ORDER BY n DESC, a.code
                    """, arguments: [since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"], count: $0["n"]) }
                let perType = try Row.fetchAll(db, sql: """
                    SELECT l.type_code AS code, l.type_name AS name, COUNT(*) AS n FROM usage_record u
                    JOIN licence l ON l.id = u.licence_id WHERE u.at >= ? GROUP BY l.type_code ORDER BY n DESC, l.type_code
                    """, arguments: [since]).map { UsageStatistics.Count(code: $0["code"], name: $0["name"], count: $0["n"]) }
                return UsageStatistics(perAgency: perAgency, perType: perType)
            }
        }
    }

    /// Deletes in transactions of 5,000 rows, so that no writer waits long for the lock.
    public func purgeUsage(before: Int64) throws(RegistryError) -> Int {
        var removed = 0
        while true {
            let count = try access {
                try pool.write { db in
                    try db.execute(sql: """
                        DELETE FROM usage_record WHERE id IN (SELECT id FROM usage_record WHERE at < ? LIMIT 5000)
                        """, arguments: [before])
                    return db.changesCount
                }
            }
            removed += count
            if count < 5000 { return removed }
        }
    }
}

/// SQLite's `SQLITE_TRANSIENT`: copy the bound bytes before the call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
