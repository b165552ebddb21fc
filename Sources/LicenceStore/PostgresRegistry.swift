import Foundation
import LicenceCore
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The registry in a PostgreSQL database, through postgres-nio, for several hosts: issuing command
/// lines and any number of stateless servers share one database.
///
/// - Every commit is durable before it is acknowledged (`synchronous_commit=on` on every session).
/// - Identifiers and status-list slots are safe across concurrent issuers on different hosts: slots
///   are reserved in short transactions under an advisory lock, and unique constraints catch the
///   (astronomically rare) identifier collision, which is retried with a new identifier.
/// - Every transaction that appends status events does so under one advisory lock held until
///   commit, so event sequence numbers are in commit order and a reader that has seen event `n`
///   has seen every event before it. It also `NOTIFY`s `elicence_changes`, which PostgreSQL delivers
///   on commit to every server listening (see ``PostgresStatusFeed``).
public final class PostgresRegistry: LicenceRegistry {
    public let location: PostgresLocation
    let connections: PostgresConnections
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

    /// Opens the registry in `location` and brings its schema up to date.
    /// - Parameter create: create the schema when the database has none; otherwise such a database is
    ///   an error (so that a mistyped name is reported, not silently filled with an empty registry).
    public init(location: PostgresLocation, password: String?, create: Bool = true,
                logger: Logger = Logger(label: "elicence.postgres", factory: { _ in SwiftLogNoOpLogHandler() })) throws(RegistryError) {
        self.location = location
        connections = try PostgresConnections(location: location, password: password, logger: logger)
        try PostgresSchema.migrate(connections, create: create)
    }

    public func makeStatusFeed() throws(RegistryError) -> any StatusFeed {
        try PostgresStatusFeed(registry: self)
    }

    func noteCommit() {
        localCommits.add(1, ordering: .sequentiallyConsistent)
    }

    /// `SELECT pg_notify(...)` inside a transaction: delivered to every listener when it commits.
    static func notify(_ session: PostgresSession, _ what: String) throws {
        try session.execute("SELECT pg_notify(\(channel), \(what))")
    }

    // MARK: Catalogue

    public func addType(_ type: LicenceType, now: Int64) throws(RegistryError) {
        let fields: String, disclosed: String
        do {
            fields = try JSONText.encode(type.fields)
            disclosed = try JSONText.encode(type.disclosed)
        } catch { throw RegistryError(.invalid, "licence type \(type.code) cannot be encoded: \(error)") }
        let validity = type.validityYears.map(Int64.init)
        let inserted = try connections.transaction { session in
            let inserted = try session.query("""
                INSERT INTO licence_type (code, name, holder_kind, sharing, fields, disclosed, validity_years, created_at)
                VALUES (\(type.code), \(type.name), \(type.holderKind.rawValue), \(type.sharing.rawValue), \(fields), \(disclosed),
                        \(validity), \(now))
                ON CONFLICT (code) DO NOTHING RETURNING code
                """).rows.count == 1
            if inserted { try Self.notify(session, "type") }
            return inserted
        }
        guard inserted else { throw RegistryError(.conflict, "licence type \(type.code) already exists") }
        noteCommit()
    }

    public func types() throws(RegistryError) -> [LicenceType] {
        try connections.withConnection { session in
            try session.query("SELECT \(unescaped: Self.typeColumns) FROM licence_type ORDER BY code").rows.map(Self.type(from:))
        }
    }

    public func type(code: String) throws(RegistryError) -> LicenceType? {
        try connections.withConnection { session in
            try session.query("SELECT \(unescaped: Self.typeColumns) FROM licence_type WHERE code = \(code)").rows.first
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
                      now: Int64) throws(RegistryError) -> [IssueOutcome] {
        let base = try SQLiteRegistry.normalize(publicURL: publicURL)
        var issuance = PostgresIssuance(registry: self, signer: signer, base: base, actor: actor, now: now)
        let outcomes = try issuance.run(requests)
        if outcomes.contains(where: { if case .issued = $0 { return true } else { return false } }) { noteCommit() }
        return outcomes
    }

    // MARK: Queries

    static let licenceColumns = """
        id, issuer_code, number, version, type_code, type_name, holder_name, holder_code, holder_code_type, issuer_name, \
        valid_from, valid_until, related_matter, fields, signed, kid, status, status_list, status_index, issued_at, superseded_by
        """

    public func licence(id: String) throws(RegistryError) -> StoredLicence? {
        try connections.withConnection { session in try Self.licence(id: id, session) }
    }

    static func licence(id: String, _ session: PostgresSession, forUpdate: Bool = false) throws -> StoredLicence? {
        try session.query("SELECT \(unescaped: licenceColumns) FROM licence WHERE id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")")
            .rows.first.map(stored(from:))
    }

    public func status(id: String) throws(RegistryError) -> LicenceStatus? {
        try connections.withConnection { session in
            try session.scalar("SELECT status FROM licence WHERE id = \(id)", as: String.self).flatMap(LicenceStatus.init(rawValue:))
        }
    }

    public func licences(_ filter: LicenceFilter) throws(RegistryError) -> [StoredLicence] {
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
        return try connections.withConnection { session in try session.query(query).rows.map(Self.stored(from:)) }
    }

    public func statusEvents(licenceID: String) throws(RegistryError) -> [StatusEvent] {
        try connections.withConnection { session in
            try session.query("SELECT status, reason, actor, at FROM status_event WHERE licence_id = \(licenceID) ORDER BY seq")
                .rows.map { row in
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
            relatedMatter: relatedMatter, fields: try JSONText.decode([String: String].self, fields))
        return StoredLicence(id: try LicenceIdentifier(parsing: id), licence: licence, status: LicenceStatus(rawValue: status) ?? .valid,
                             issuedAt: issuedAt, signedBytes: Array(signed.readableBytesView), kid: kid, statusList: statusList,
                             statusIndex: statusIndex, supersededBy: supersededBy)
    }

    // MARK: Status

    public func changeStatus(id: String, to status: LicenceStatus, reason: String, actor: String,
                             now: Int64) throws(RegistryError) -> StoredLicence {
        let trimmed = try StatusChange.reason(reason, to: status)
        let changed = try connections.transaction { session in
            guard let current = try Self.licence(id: id, session, forUpdate: true) else {
                throw RegistryError(.notFound, "no licence \(id) in the registry")
            }
            try StatusChange.check(current, to: status)
            try session.execute("UPDATE licence SET status = \(status.rawValue) WHERE id = \(id)")
            try Self.lockEvents(session)
            try session.execute("""
                INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES (\(id), \(status.rawValue), \(trimmed), \(actor), \(now))
                """)
            try Self.notify(session, "status")
            var changed = current
            changed.status = status
            return changed
        }
        noteCommit()
        return changed
    }

    /// Taken by every transaction before it appends status events, and held until it commits: event
    /// sequence numbers are then handed out in commit order.
    static func lockEvents(_ session: PostgresSession) throws {
        try session.execute("SELECT pg_advisory_xact_lock(\(Lock.events.rawValue))")
    }

    public func statusLists() throws(RegistryError) -> [StatusListSnapshot] {
        try connections.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            try session.query("SELECT id, uri, size, used FROM status_list ORDER BY id").rows.map { try Self.snapshot($0, session) }
        }
    }

    public func statusList(number: Int64) throws(RegistryError) -> StatusListSnapshot? {
        try connections.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            try session.query("SELECT id, uri, size, used FROM status_list WHERE id = \(number)").rows.first
                .map { try Self.snapshot($0, session) }
        }
    }

    private static func snapshot(_ row: PostgresRow, _ session: PostgresSession) throws -> StatusListSnapshot {
        let (number, uri, size, used) = try row.decode((Int64, String, Int64, Int64).self)
        var list = StatusList(count: Int(size))
        try session.forEach("SELECT status_index, status FROM licence WHERE status_list = \(number) AND status <> 'valid'") { entry in
            let (index, status) = try entry.decode((Int64, String).self)
            list[Int(index)] = (LicenceStatus(rawValue: status) ?? .revoked).listValue
        }
        return StatusListSnapshot(number: number, uri: uri, list: list, used: Int(used))
    }
}
