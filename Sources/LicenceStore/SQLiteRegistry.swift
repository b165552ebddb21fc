import Foundation
import GRDB
import LicenceCore
import LicenceLog
import ServiceLifecycle

/// The registry in one SQLite file, through GRDB: WAL (a `DatabasePool`), `synchronous=FULL` so that a
/// committed transaction survives power loss, and a busy timeout so that the command line and a
/// running server can share the file. Every access goes through GRDB's asynchronous `read` and
/// `write`, which run on GRDB's own queues.
public final class SQLiteRegistry: Registry, IssuanceStore {
    public let path: String
    let pool: DatabasePool

    /// Opens the registry at `path` and brings its schema up to date, on a thread of its own.
    /// - Parameter create: create the file when it does not exist; otherwise a missing file is an error
    ///   (so that a mistyped path is reported, not silently replaced by an empty registry).
    public static func open(path: String, create: Bool = true, busyTimeout: TimeInterval = 10) async throws(RegistryError) -> SQLiteRegistry {
        do {
            return try await Blocking.run { try SQLiteRegistry(path: path, create: create, busyTimeout: busyTimeout) }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError(.storage, "cannot open the registry at \(path): \(error)")
        }
    }

    private init(path: String, create: Bool, busyTimeout: TimeInterval) throws(RegistryError) {
        self.path = path
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw RegistryError(.invalid, "no registry at \(path); give --database PATH, or create one with `elicence types add`")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets synchronous=NORMAL on the writer when it enables WAL, after prepareDatabase; a
            // commit must reach the disk before it is acknowledged, so the writer goes back to FULL.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = -65536")  // 64 MiB: bulk inserts touch random index pages
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")  // checkpoint every 64 MiB of WAL, not 4 MiB
            }
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw RegistryError(.invalid, "cannot open the registry at \(path): \(Self.describe(error))")
        }
    }

    /// SQLite needs no background work; this returns at graceful shutdown or cancellation.
    public func run() async {
        try? await gracefulShutdown()
    }

    public func makeStatusFeed() async throws(RegistryError) -> any StatusFeed {
        let path = self.path
        do {
            let watcher = try await Blocking.run { try DataVersionWatcher(path: path) }
            return SQLiteStatusFeed(registry: self, watcher: watcher)
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError(.storage, "registry \(path): \(error)")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    /// A storage failure as a ``RegistryError`` (one thrown by the caller's own code passes through).
    func failure(_ error: any Error) -> RegistryError {
        if let error = error as? RegistryError { return error }
        return RegistryError(.storage, "registry \(path): \(Self.describe(error))")
    }

    /// A read transaction on one of the pool's readers.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(RegistryError) -> T {
        do { return try await pool.read(body) } catch { throw failure(error) }
    }

    /// A write transaction, committed (durably) before this returns.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(RegistryError) -> T {
        do { return try await pool.write(body) } catch { throw failure(error) }
    }

    // MARK: Catalogue

    public func addType(_ type: LicenceType, now: Int64) async throws(RegistryError) {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM licence_type WHERE code = ?", arguments: [type.code]) == true {
                throw RegistryError(.conflict, "licence type \(type.code) already exists")
            }
            try db.execute(sql: """
                INSERT INTO licence_type (code, name, holder_kind, sharing, fields, disclosed, validity_years, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [type.code, type.name, type.holderKind.rawValue, type.sharing.rawValue,
                                 try JSONText.encode(type.fields), try JSONText.encode(type.disclosed), type.validityYears, now])
        }
    }

    public func types() async throws(RegistryError) -> [LicenceType] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM licence_type ORDER BY code").map(Self.type(from:)) }
    }

    public func type(code: String) async throws(RegistryError) -> LicenceType? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM licence_type WHERE code = ?", arguments: [code]).map(Self.type(from:))
        }
    }

    static func type(from row: Row) throws -> LicenceType {
        LicenceType(code: row["code"], name: row["name"],
                    holderKind: LicenceType.HolderKind(rawValue: row["holder_kind"]) ?? .enterprise,
                    sharing: LicenceType.Sharing(rawValue: row["sharing"]) ?? .none,
                    fields: try JSONText.decode([LicenceType.Field].self, row["fields"]),
                    disclosed: try JSONText.decode([String].self, row["disclosed"]), validityYears: row["validity_years"])
    }

    // MARK: Issuance

    public func issue(_ requests: [IssueRequest], signer: any Signer, publicURL: String, actor: String,
                      now: Int64) async throws(RegistryError) -> IssueOutcomes {
        try await IssuePlanner(publicURL: publicURL, now: now).run(requests, signer: signer, actor: actor, store: self)
    }

    // MARK: Queries

    public func licence(id: LicenceIdentifier) async throws(RegistryError) -> StoredLicence? {
        let text = id.description
        return try await read { db in try Self.licence(id: text, db) }
    }

    public func status(id: LicenceIdentifier) async throws(RegistryError) -> LicenceStatus? {
        let text = id.description
        return try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM licence WHERE id = ?"), arguments: [text])
                .flatMap(LicenceStatus.init(rawValue:))
        }
    }

    static func licence(id: String, _ db: Database) throws -> StoredLicence? {
        try Row.fetchOne(db, sql: "SELECT * FROM licence WHERE id = ?", arguments: [id]).map(stored(from:))
    }

    public func licences(_ filter: LicenceFilter) async throws(RegistryError) -> [StoredLicence] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let holder = filter.holderCode {
                conditions.append("holder_code = ?")
                arguments.append(holder.uppercased())
            }
            if let type = filter.typeCode {
                conditions.append("type_code = ?")
                arguments.append(type)
            }
            if let status = filter.status {
                conditions.append("status = ?")
                arguments.append(status.rawValue)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(filter.limit)
            arguments.append(filter.offset)
            return try Row.fetchAll(db, sql: "SELECT * FROM licence \(whereClause) ORDER BY issued_at, id LIMIT ? OFFSET ?",
                                    arguments: StatementArguments(arguments)).map(Self.stored(from:))
        }
    }

    public func statusEvents(licenceID: LicenceIdentifier) async throws(RegistryError) -> [StatusEvent] {
        let id = licenceID.description
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM status_event WHERE licence_id = ? ORDER BY seq", arguments: [id]).map { row in
                StatusEvent(status: LicenceStatus(rawValue: row["status"]) ?? .valid, reason: row["reason"],
                            actor: row["actor"], at: row["at"])
            }
        }
    }

    static func stored(from row: Row) throws -> StoredLicence {
        let id = try LicenceIdentifier(parsing: row["id"])
        let holderCode = try HolderCode(row["holder_code"], type: row["holder_code_type"], allowBadChecksum: true)
        let validUntil: String? = row["valid_until"]
        let licence = Licence(
            typeCode: row["type_code"], typeName: row["type_name"], number: row["number"],
            holder: Holder(name: row["holder_name"], code: holderCode),
            issuer: Issuer(code: row["issuer_code"], name: row["issuer_name"]),
            validFrom: try CalendarDate(parsing: row["valid_from"]),
            validUntil: try validUntil.map { text throws in try CalendarDate(parsing: text) },
            relatedMatter: row["related_matter"], fields: try JSONText.fields(row["fields"]))
        return StoredLicence(id: id, licence: licence, status: LicenceStatus(rawValue: row["status"]) ?? .valid,
                             issuedAt: row["issued_at"], signedBytes: [UInt8](row["signed"] as Data), kid: row["kid"],
                             statusList: row["status_list"], statusIndex: row["status_index"], supersededBy: row["superseded_by"])
    }

    // MARK: Status

    public func changeStatus(id: LicenceIdentifier, to status: LicenceStatus, reason: String, actor: String,
                             now: Int64) async throws(RegistryError) -> StoredLicence {
        let trimmed = try StatusChange.reason(reason, to: status)
        return try await write { db in
            guard let current = try Self.licence(id: id.description, db) else { throw StatusChange.notFound(id) }
            try StatusChange.check(current, to: status)
            try db.execute(sql: "UPDATE licence SET status = ? WHERE id = ?", arguments: [status.rawValue, id.description])
            let size = try Self.logSize(db)
            try Self.appendStatusEvent(db, licence: id.description, status: status, reason: trimmed, actor: actor, at: now, logIndex: size)
            try Self.appendLog(db, size: size, leaves: [.statusChange(identifier: id.description, status: status.rawValue, at: now)])
            var changed = current
            changed.status = status
            return changed
        }
    }

    /// Appends a status event, with the index of the leaf that records it in the log.
    static func appendStatusEvent(_ db: Database, licence: String, status: LicenceStatus, reason: String, actor: String,
                                  at: Int64, logIndex: Int64?) throws {
        try db.cachedStatement(sql: "INSERT INTO status_event (licence_id, status, reason, actor, at, log_index) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [licence, status.rawValue, reason, actor, at, LogRecord.disabled ? nil : logIndex])
    }

    public func statusLists() async throws(RegistryError) -> [StatusListSnapshot] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, uri, size, used FROM status_list ORDER BY id").map { try Self.snapshot($0, db) }
        }
    }

    public func statusList(number: Int64) async throws(RegistryError) -> StatusListSnapshot? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT id, uri, size, used FROM status_list WHERE id = ?", arguments: [number])
                .map { try Self.snapshot($0, db) }
        }
    }

    /// The list of a `status_list` row, with the status of every licence in it.
    private static func snapshot(_ row: Row, _ db: Database) throws -> StatusListSnapshot {
        let number: Int64 = row["id"]
        var list = StatusList(count: row["size"])
        let entries = try Row.fetchCursor(db, sql: """
            SELECT status_index, status FROM licence WHERE status_list = ? AND status != 'valid'
            """, arguments: [number])
        while let entry = try entries.next() {
            let status = LicenceStatus(rawValue: entry["status"]) ?? .revoked
            list[entry["status_index"]] = status.listValue
        }
        return StatusListSnapshot(number: number, uri: row["uri"], list: list, used: row["used"])
    }
}
