import Foundation
import LicenceCore
import LicenceLog
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The registry in a PostgreSQL database, through postgres-nio's `PostgresClient`, for several
/// hosts: issuing command lines and any number of stateless servers share one database.
///
/// - Every commit is durable before it is acknowledged (`synchronous_commit=on` on every session).
/// - Identifiers and status-list slots are safe across concurrent issuers on different hosts: slots
///   are reserved in short transactions under an advisory lock, and unique constraints catch the
///   (astronomically rare) identifier collision, which is retried with a new identifier.
/// - Every transaction that appends status events does so under one advisory lock held until
///   commit, so event sequence numbers are in commit order and a reader that has seen event `n`
///   has seen every event before it. It also `NOTIFY`s `elicence_changes`, which PostgreSQL delivers
///   on commit to every server listening (see ``PostgresStatusFeed``).
public final class PostgresRegistry: Registry, IssuanceStore {
    public let location: PostgresLocation
    let database: PostgresDatabase
    let listener: PostgresChangeListener
    /// Commits made through this registry object, so that a server sees its own writes at once,
    /// without waiting for the notification to come back.
    let localCommits = Atomic<Int64>(0)

    /// The channel every change is announced on.
    static let channel = "elicence_changes"
    /// Advisory lock keys (per database).
    enum Lock: Int64 {
        case migrations = 0x454C_0001
        case slots = 0x454C_0002
        case events = 0x454C_0003
    }

    /// Opens the registry in `location` and brings its schema up to date. Its pool and change
    /// listener work while ``run()`` runs.
    /// - Parameters:
    ///   - create: create the schema when the database has none; otherwise such a database is an
    ///     error (so that a mistyped name is reported, not silently filled with an empty registry).
    ///   - poolSize: most connections for queries.
    public static func open(location: PostgresLocation, password: String?, create: Bool = true,
                            poolSize: Int = RegistryLocation.defaultPoolSize,
                            logger: Logger = Logger(label: "elicence.postgres", factory: { _ in SwiftLogNoOpLogHandler() }))
        async throws(RegistryError) -> PostgresRegistry {
        let database = try PostgresDatabase(location: location, password: password, poolSize: poolSize, logger: logger)
        try await PostgresSchema.migrate(database, create: create)
        return PostgresRegistry(location: location, database: database)
    }

    private init(location: PostgresLocation, database: PostgresDatabase) {
        self.location = location
        self.database = database
        listener = PostgresChangeListener(database: database)
    }

    /// The connection pool and the `LISTEN` connection, until graceful shutdown or cancellation.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.database.run() }
                group.addTask { await self.listener.run() }
            }
        }
    }

    /// A feed on the registry's `LISTEN` connection, once that connection listens (or the reason
    /// it cannot).
    public func makeStatusFeed() async throws(RegistryError) -> any StatusFeed {
        listener.start()
        try await listener.ready()
        return PostgresStatusFeed(registry: self)
    }

    func noteCommit() {
        localCommits.add(1, ordering: .sequentiallyConsistent)
    }

    /// `SELECT pg_notify(...)` inside a transaction: delivered to every listener when it commits.
    static func notify(_ session: PostgresSession, _ what: String) async throws {
        try await session.execute("SELECT pg_notify(\(channel), \(what))")
    }

    /// Taken by every transaction before it appends status events, and held until it commits: event
    /// sequence numbers are then handed out in commit order.
    static func lockEvents(_ session: PostgresSession) async throws {
        try await session.execute("SELECT pg_advisory_xact_lock(\(Lock.events.rawValue))")
    }

    // MARK: Catalogue

    public func addType(_ type: LicenceType, now: Int64) async throws(RegistryError) {
        let fields: String, disclosed: String
        do {
            fields = try JSONText.encode(type.fields)
            disclosed = try JSONText.encode(type.disclosed)
        } catch { throw RegistryError(.invalid, "licence type \(type.code) cannot be encoded: \(error)") }
        let validity = type.validityYears.map(Int64.init)
        let inserted = try await database.transaction { session in
            let inserted = try await session.rows("""
                INSERT INTO licence_type (code, name, holder_kind, sharing, fields, disclosed, validity_years, created_at)
                VALUES (\(type.code), \(type.name), \(type.holderKind.rawValue), \(type.sharing.rawValue), \(fields), \(disclosed),
                        \(validity), \(now))
                ON CONFLICT (code) DO NOTHING RETURNING code
                """).count == 1
            if inserted { try await Self.notify(session, "type") }
            return inserted
        }
        guard inserted else { throw RegistryError(.conflict, "licence type \(type.code) already exists") }
        noteCommit()
    }

    public func types() async throws(RegistryError) -> [LicenceType] {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.typeColumns) FROM licence_type ORDER BY code").map(Self.type(from:))
        }
    }

    public func type(code: String) async throws(RegistryError) -> LicenceType? {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.typeColumns) FROM licence_type WHERE code = \(code)").first
                .map(Self.type(from:))
        }
    }

    static let typeColumns = "code, name, holder_kind, sharing, fields, disclosed, validity_years"

    static func type(from row: PostgresRow) throws -> LicenceType {
        let (code, name, holderKind, sharing, fields, disclosed, validity) =
            try row.decode((String, String, String, String, String, String, Int64?).self)
        return LicenceType(code: code, name: name, holderKind: LicenceType.HolderKind(rawValue: holderKind) ?? .enterprise,
                           sharing: LicenceType.Sharing(rawValue: sharing) ?? .none,
                           fields: try JSONText.decode([LicenceType.Field].self, fields),
                           disclosed: try JSONText.decode([String].self, disclosed), validityYears: validity.map(Int.init))
    }

    // MARK: Issuance

    public func issue(_ requests: [IssueRequest], signer: any Signer, publicURL: String, actor: String,
                      now: Int64) async throws(RegistryError) -> IssueOutcomes {
        let outcomes = try await IssuePlanner(publicURL: publicURL, now: now).run(requests, signer: signer, actor: actor, store: self)
        if outcomes.contains(where: { if case .issued = $0 { return true } else { return false } }) { noteCommit() }
        return outcomes
    }

    // MARK: Queries

    static let licenceColumns = """
        id, issuer_code, number, version, type_code, type_name, holder_name, holder_code, holder_code_type, issuer_name, \
        valid_from, valid_until, related_matter, fields, signed, kid, status, status_list, status_index, issued_at, superseded_by
        """

    public func licence(id: LicenceIdentifier) async throws(RegistryError) -> StoredLicence? {
        try await database.withSession { session in try await Self.licence(id: id.description, session) }
    }

    static func licence(id: String, _ session: PostgresSession, forUpdate: Bool = false) async throws -> StoredLicence? {
        try await session.rows(
            "SELECT \(unescaped: licenceColumns) FROM licence WHERE id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")"
        ).first.map(stored(from:))
    }

    public func status(id: LicenceIdentifier) async throws(RegistryError) -> LicenceStatus? {
        try await database.withSession { session in
            try await session.scalar("SELECT status FROM licence WHERE id = \(id.description)", as: String.self)
                .flatMap(LicenceStatus.init(rawValue:))
        }
    }

    public func licences(_ filter: LicenceFilter) async throws(RegistryError) -> [StoredLicence] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bind(_ condition: String, _ value: String) {
            binds.append(value)
            conditions.append(condition.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let holder = filter.holderCode { bind("holder_code = ?", holder.uppercased()) }
        if let type = filter.typeCode { bind("type_code = ?", type) }
        if let status = filter.status { bind("status = ?", status.rawValue) }
        binds.append(Int64(filter.limit))
        binds.append(Int64(filter.offset))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.licenceColumns) FROM licence \(whereClause) ORDER BY issued_at, id LIMIT $\(binds.count - 1) OFFSET $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await database.withSession { session in try await session.rows(query).map(Self.stored(from:)) }
    }

    public func statusEvents(licenceID: LicenceIdentifier) async throws(RegistryError) -> [StatusEvent] {
        try await database.withSession { session in
            try await session.rows(
                "SELECT status, reason, actor, at FROM status_event WHERE licence_id = \(licenceID.description) ORDER BY seq"
            ).map { row in
                let (status, reason, actor, at) = try row.decode((String, String, String, Int64).self)
                return StatusEvent(status: LicenceStatus(rawValue: status) ?? .valid, reason: reason, actor: actor, at: at)
            }
        }
    }

    static func stored(from row: PostgresRow) throws -> StoredLicence {
        let (id, issuerCode, number, _, typeCode, typeName, holderName, holderCode, holderCodeType, issuerName, validFrom,
             validUntil, relatedMatter, fields, signed, kid, status, statusList, statusIndex, issuedAt, supersededBy) =
            try row.decode((String, String, String, Int64, String, String, String, String, String, String, String,
                            String?, String?, String, ByteBuffer, String, String, Int64, Int64, Int64, String?).self)
        let licence = Licence(
            typeCode: typeCode, typeName: typeName, number: number,
            holder: Holder(name: holderName, code: try HolderCode(holderCode, type: holderCodeType, allowBadChecksum: true)),
            issuer: Issuer(code: issuerCode, name: issuerName),
            validFrom: try CalendarDate(parsing: validFrom),
            validUntil: try validUntil.map { text throws in try CalendarDate(parsing: text) },
            relatedMatter: relatedMatter, fields: try JSONText.fields(fields))
        return StoredLicence(id: try LicenceIdentifier(parsing: id), licence: licence, status: LicenceStatus(rawValue: status) ?? .valid,
                             issuedAt: issuedAt, signedBytes: Array(signed.readableBytesView), kid: kid, statusList: statusList,
                             statusIndex: statusIndex, supersededBy: supersededBy)
    }

    // MARK: Status

    public func changeStatus(id: LicenceIdentifier, to status: LicenceStatus, reason: String, actor: String,
                             now: Int64) async throws(RegistryError) -> StoredLicence {
        let trimmed = try StatusChange.reason(reason, to: status)
        let text = id.description
        let changed = try await database.transaction { session in
            guard let current = try await Self.licence(id: text, session, forUpdate: true) else { throw StatusChange.notFound(id) }
            try StatusChange.check(current, to: status)
            try await session.execute("UPDATE licence SET status = \(status.rawValue) WHERE id = \(text)")
            try await Self.lockEvents(session)
            let size = try await Self.logSize(session)
            let logIndex: Int64? = LogRecord.disabled ? nil : size
            try await session.execute("""
                INSERT INTO status_event (licence_id, status, reason, actor, at, log_index)
                VALUES (\(text), \(status.rawValue), \(trimmed), \(actor), \(now), \(logIndex))
                """)
            try await Self.appendLog(session, size: size, leaves: [.statusChange(identifier: text, status: status.rawValue, at: now)])
            try await Self.notify(session, "status")
            var changed = current
            changed.status = status
            return changed
        }
        noteCommit()
        return changed
    }

    public func statusLists() async throws(RegistryError) -> [StatusListSnapshot] {
        try await database.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            var snapshots: [StatusListSnapshot] = []
            for row in try await session.rows("SELECT id, uri, size, used FROM status_list ORDER BY id") {
                snapshots.append(try await Self.snapshot(row, session))
            }
            return snapshots
        }
    }

    public func statusList(number: Int64) async throws(RegistryError) -> StatusListSnapshot? {
        try await database.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            guard let row = try await session.rows("SELECT id, uri, size, used FROM status_list WHERE id = \(number)").first else {
                return nil
            }
            return try await Self.snapshot(row, session)
        }
    }

    private static func snapshot(_ row: PostgresRow, _ session: PostgresSession) async throws -> StatusListSnapshot {
        let (number, uri, size, used) = try row.decode((Int64, String, Int64, Int64).self)
        var list = StatusList(count: Int(size))
        for entry in try await session.rows("SELECT status_index, status FROM licence WHERE status_list = \(number) AND status <> 'valid'") {
            let (index, status) = try entry.decode((Int64, String).self)
            list[Int(index)] = (LicenceStatus(rawValue: status) ?? .revoked).listValue
        }
        return StatusListSnapshot(number: number, uri: uri, list: list, used: Int(used))
    }
}
