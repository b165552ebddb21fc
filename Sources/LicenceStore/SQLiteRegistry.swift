import Crypto
import Dispatch
import Foundation
import GRDB
import LicenceCore

/// The registry in one SQLite file, through GRDB: WAL (a `DatabasePool`), `synchronous=FULL` so that a
/// committed transaction survives power loss, and a busy timeout so that the command line and a
/// running server can share the file.
public final class SQLiteRegistry: LicenceRegistry {
    public let path: String
    let pool: DatabasePool

    /// Opens the registry at `path` and brings its schema up to date.
    /// - Parameter create: create the file when it does not exist; otherwise a missing file is an error
    ///   (so that a mistyped path is reported, not silently replaced by an empty registry).
    public init(path: String, create: Bool = true, busyTimeout: TimeInterval = 10) throws(RegistryError) {
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
            try Self.migrator.migrate(pool)
        } catch {
            throw RegistryError(.invalid, "cannot open the registry at \(path): \(Self.describe(error))")
        }
    }

    public func makeStatusFeed() throws(RegistryError) -> any StatusFeed {
        try SQLiteStatusFeed(registry: self)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    /// Runs a database operation, turning storage failures into ``RegistryError``.
    func access<T>(_ operation: () throws -> T) throws(RegistryError) -> T {
        do { return try operation() } catch let error as RegistryError { throw error } catch {
            throw RegistryError(.storage, "registry \(path): \(Self.describe(error))")
        }
    }

    // MARK: Schema

    /// Migrations are never edited once shipped; changes come as new migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE licence_type (
                    code TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('enterprise', 'citizen')),
                    sharing TEXT NOT NULL CHECK (sharing IN ('unconditional', 'conditional', 'none')),
                    fields TEXT NOT NULL,
                    disclosed TEXT NOT NULL,
                    validity_years INTEGER,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE status_list (
                    id INTEGER PRIMARY KEY,
                    uri TEXT NOT NULL UNIQUE,
                    base_url TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    used INTEGER NOT NULL DEFAULT 0,
                    seed BLOB NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE licence (
                    id TEXT PRIMARY KEY,
                    issuer_code TEXT NOT NULL,
                    number TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    type_code TEXT NOT NULL REFERENCES licence_type(code),
                    type_name TEXT NOT NULL,
                    holder_name TEXT NOT NULL,
                    holder_code TEXT NOT NULL,
                    holder_code_type TEXT NOT NULL,
                    issuer_name TEXT NOT NULL,
                    valid_from TEXT NOT NULL,
                    valid_until TEXT,
                    related_matter TEXT,
                    fields TEXT NOT NULL,
                    content_hash BLOB NOT NULL,
                    signed BLOB NOT NULL,
                    kid TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'superseded')),
                    status_list INTEGER NOT NULL REFERENCES status_list(id),
                    status_index INTEGER NOT NULL,
                    issued_at INTEGER NOT NULL,
                    superseded_by TEXT,
                    UNIQUE (status_list, status_index)
                );
                -- Issuer + number identify a licence; only superseded versions may repeat them.
                CREATE UNIQUE INDEX licence_current ON licence(issuer_code, number) WHERE status != 'superseded';
                CREATE INDEX licence_holder ON licence(holder_code);
                CREATE INDEX licence_type_status ON licence(type_code, status);
                CREATE TABLE status_event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    licence_id TEXT NOT NULL REFERENCES licence(id),
                    status TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                CREATE INDEX status_event_licence ON status_event(licence_id, seq);
                CREATE TABLE agency (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    code TEXT,
                    key_hash BLOB NOT NULL UNIQUE,
                    grants TEXT NOT NULL DEFAULT '[]',
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE usage_record (
                    id INTEGER PRIMARY KEY,
                    agency_id INTEGER REFERENCES agency(id),
                    licence_id TEXT,
                    action TEXT NOT NULL,
                    cause TEXT,
                    outcome TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                CREATE INDEX usage_record_licence ON usage_record(licence_id, at);
                CREATE INDEX usage_record_at ON usage_record(at);
                """)
        }
        migrator.registerMigration("v2: agency codes") { db in
            try db.execute(sql: """
                CREATE UNIQUE INDEX agency_code ON agency(code);
                CREATE INDEX usage_record_agency ON usage_record(agency_id, at);
                """)
        }
        return migrator
    }

    // MARK: Catalogue

    public func addType(_ type: LicenceType, now: Int64) throws(RegistryError) {
        try access {
            try pool.write { db in
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
    }

    public func types() throws(RegistryError) -> [LicenceType] {
        try access { try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM licence_type ORDER BY code").map(Self.type(from:)) } }
    }

    public func type(code: String) throws(RegistryError) -> LicenceType? {
        try access { try pool.read { db in try Self.type(code: code, db) } }
    }

    static func type(code: String, _ db: Database) throws -> LicenceType? {
        try Row.fetchOne(db, sql: "SELECT * FROM licence_type WHERE code = ?", arguments: [code]).map(type(from:))
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
                      now: Int64) throws(RegistryError) -> [IssueOutcome] {
        let base = try Self.normalize(publicURL: publicURL)
        let kid = Hex.encode(signer.kid)
        return try access {
            try pool.write { db in
                var batch = IssueBatch(db: db, base: base, now: now)
                var outcomes: [IssueOutcome?] = []
                var pending: [PendingLicence] = []
                for (index, request) in requests.enumerated() {
                    switch try batch.prepare(request) {
                    case .done(let outcome): outcomes.append(outcome)
                    case .sign(var item):
                        item.outcomeIndex = index
                        pending.append(item)
                        outcomes.append(nil)
                    }
                }
                // Signing is the slow step; spread it over every core, then write in order.
                let signed = pending.map(\.claims).concurrentMap { claims in
                    Result { try LicenceToken.sign1(claims, with: signer).encoded() }
                }
                for (index, item) in pending.enumerated() {
                    switch signed[index] {
                    case .failure(let error):
                        outcomes[item.outcomeIndex] = .failed(LicenceCoreError(.signingFailed, "signing failed: \(error)"))
                    case .success(let bytes):
                        let stored = try batch.insert(item, signedBytes: bytes, kid: kid, actor: actor)
                        outcomes[item.outcomeIndex] = .issued(stored)
                    }
                }
                try batch.saveListUsage()
                return outcomes.map { $0! }
            }
        }
    }

    static func normalize(publicURL: String) throws(RegistryError) -> String {
        var url = publicURL
        while url.hasSuffix("/") { url.removeLast() }
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8, !url.contains(" ") else {
            throw RegistryError(.invalid, "--public-url \"\(publicURL)\" must be an http:// or https:// URL")
        }
        return url
    }

    // MARK: Queries

    public func licence(id: String) throws(RegistryError) -> StoredLicence? {
        try access { try pool.read { db in try Self.licence(id: id, db) } }
    }

    public func status(id: String) throws(RegistryError) -> LicenceStatus? {
        try access {
            try pool.read { db in
                try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM licence WHERE id = ?"), arguments: [id])
                    .flatMap(LicenceStatus.init(rawValue:))
            }
        }
    }

    static func licence(id: String, _ db: Database) throws -> StoredLicence? {
        try Row.fetchOne(db, sql: "SELECT * FROM licence WHERE id = ?", arguments: [id]).map(stored(from:))
    }

    public func licences(_ filter: LicenceFilter) throws(RegistryError) -> [StoredLicence] {
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
        let sql = "SELECT * FROM licence \(whereClause) ORDER BY issued_at, id LIMIT ? OFFSET ?"
        arguments.append(filter.limit)
        arguments.append(filter.offset)
        let bound = StatementArguments(arguments)
        return try access { try pool.read { db in try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.stored(from:)) } }
    }

    public func statusEvents(licenceID: String) throws(RegistryError) -> [StatusEvent] {
        try access {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM status_event WHERE licence_id = ? ORDER BY seq", arguments: [licenceID])
                    .map { row in
                        StatusEvent(status: LicenceStatus(rawValue: row["status"]) ?? .valid, reason: row["reason"],
                                    actor: row["actor"], at: row["at"])
                    }
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
            relatedMatter: row["related_matter"], fields: try JSONText.decode([String: String].self, row["fields"]))
        return StoredLicence(id: id, licence: licence, status: LicenceStatus(rawValue: row["status"]) ?? .valid,
                             issuedAt: row["issued_at"], signedBytes: [UInt8](row["signed"] as Data), kid: row["kid"],
                             statusList: row["status_list"], statusIndex: row["status_index"], supersededBy: row["superseded_by"])
    }

    // MARK: Status

    public func changeStatus(id: String, to status: LicenceStatus, reason: String, actor: String,
                             now: Int64) throws(RegistryError) -> StoredLicence {
        let trimmed = try StatusChange.reason(reason, to: status)
        return try access {
            try pool.write { db in
                guard let current = try Self.licence(id: id, db) else {
                    throw RegistryError(.notFound, "no licence \(id) in the registry")
                }
                try StatusChange.check(current, to: status)
                try db.execute(sql: "UPDATE licence SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
                try db.execute(sql: "INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [id, status.rawValue, trimmed, actor, now])
                var changed = current
                changed.status = status
                return changed
            }
        }
    }

    public func statusLists() throws(RegistryError) -> [StatusListSnapshot] {
        try access {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, uri, size, used FROM status_list ORDER BY id").map { try Self.snapshot($0, db) }
            }
        }
    }

    public func statusList(number: Int64) throws(RegistryError) -> StatusListSnapshot? {
        try access {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT id, uri, size, used FROM status_list WHERE id = ?", arguments: [number])
                    .map { try Self.snapshot($0, db) }
            }
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

/// The state of one issuing transaction: the catalogue and status lists it has read, and the
/// numbers it has claimed so far.
private struct IssueBatch {
    let db: Database
    let base: String
    let now: Int64
    var types: [String: LicenceType?] = [:]
    var list: OpenList?
    var claimedNumbers: [String: Int] = [:]
    var random = SystemRandomNumberGenerator()
    let fieldsEncoder = JSONText.Encoder()

    struct OpenList {
        var id: Int64
        var uri: String
        var used: Int
        let permutation: SlotPermutation
    }

    enum Prepared {
        case done(IssueOutcome)
        case sign(PendingLicence)
    }

    init(db: Database, base: String, now: Int64) {
        self.db = db
        self.base = base
        self.now = now
    }

    mutating func prepare(_ request: IssueRequest) throws -> Prepared {
        var licence = request.licence
        let cached = try types[licence.typeCode] ?? SQLiteRegistry.type(code: licence.typeCode, db)
        types[licence.typeCode] = cached
        guard let type = cached else {
            return .done(.failed(LicenceCoreError(.invalidField, field: "type",
                "licence type \(licence.typeCode) is not in the catalogue; add it with `elicence types add`")))
        }
        licence.typeName = type.name
        do { try type.check(licence) } catch { return .done(.failed(error)) }
        let hash = ContentHash.of(licence)
        let key = licence.issuer.code + "\u{1f}" + licence.number
        if claimedNumbers[key] != nil {
            return .done(.failed(LicenceCoreError(.invalidField, field: "number",
                "\(licence.number) appears twice in one batch; issue a licence number once")))
        }
        let existing = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, version, status, content_hash FROM licence
            WHERE issuer_code = ? AND number = ? AND status != 'superseded'
            """), arguments: [licence.issuer.code, licence.number])
        var identifier: LicenceIdentifier
        var supersedes: String? = nil
        if let existing {
            let existingID: String = existing["id"]
            if (existing["content_hash"] as Data) == Data(hash) {
                return .done(.unchanged(try SQLiteRegistry.licence(id: existingID, db)!))
            }
            guard request.newVersion else {
                return .done(.failed(LicenceCoreError(.invalidField, field: "number",
                    "licence \(licence.number) of \(licence.issuer.code) already exists as \(existingID) with different content; "
                        + "give --new-version to supersede it")))
            }
            guard existing["status"] as String != LicenceStatus.revoked.rawValue else {
                return .done(.failed(LicenceCoreError(.invalidField, field: "number",
                    "licence \(existingID) is revoked; a revoked licence cannot get a new version")))
            }
            let version: Int = existing["version"]
            guard version < 999 else {
                return .done(.failed(LicenceCoreError(.invalidField, field: "number", "licence \(existingID) has reached version 999")))
            }
            identifier = try LicenceIdentifier(parsing: existingID).withVersion(version + 1)
            supersedes = existingID
        } else {
            repeat {
                identifier = try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: licence.issuer.code,
                                                            year: CalendarDate(chinaDayOf: now).year, using: &random)
            } while try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM licence WHERE id = ?"),
                                      arguments: [identifier.description]) == true
        }
        claimedNumbers[key] = 1
        let slot = try allocateSlot()
        let claims = LicenceClaims(licence: licence, identifier: identifier, issuedAt: now,
                                   status: StatusReference(index: UInt64(slot.index), uri: slot.uri),
                                   disclosedFields: Set(type.disclosed))
        return .sign(PendingLicence(licence: licence, identifier: identifier, claims: claims, contentHash: hash,
                                    statusList: slot.list, statusIndex: Int64(slot.index), supersedes: supersedes))
    }

    /// The next slot of the open status list for this public URL, opening a new list when it is full.
    mutating func allocateSlot() throws -> (list: Int64, index: Int, uri: String) {
        if list == nil || list!.used >= SlotPermutation.size {
            if let current = list { try save(current) }
            list = try openList()
        }
        let index = list!.permutation.permute(list!.used)
        list!.used += 1
        return (list!.id, index, list!.uri)
    }

    private func openList() throws -> OpenList {
        if let row = try Row.fetchOne(db, sql: """
            SELECT id, uri, used, seed FROM status_list WHERE base_url = ? AND used < size ORDER BY id LIMIT 1
            """, arguments: [base]) {
            return OpenList(id: row["id"], uri: row["uri"], used: row["used"],
                            permutation: SlotPermutation(seed: [UInt8](row["seed"] as Data)))
        }
        var generator = SystemRandomNumberGenerator()
        let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let id = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), -1) + 1 FROM status_list")) ?? 0
        let uri = "\(base)/v1/status-lists/\(id)"
        try db.execute(sql: "INSERT INTO status_list (id, uri, base_url, size, used, seed, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
                       arguments: [id, uri, base, SlotPermutation.size, Data(seed), now])
        return OpenList(id: id, uri: uri, used: 0, permutation: SlotPermutation(seed: seed))
    }

    private func save(_ list: OpenList) throws {
        try db.execute(sql: "UPDATE status_list SET used = ? WHERE id = ?", arguments: [list.used, list.id])
    }

    func saveListUsage() throws {
        if let list { try save(list) }
    }

    func insert(_ item: PendingLicence, signedBytes: [UInt8], kid: String, actor: String) throws -> StoredLicence {
        let licence = item.licence
        // The old version gives up its number first: only one current licence may hold it.
        if let old = item.supersedes {
            try db.execute(sql: "UPDATE licence SET status = 'superseded', superseded_by = ? WHERE id = ?",
                           arguments: [item.identifier.description, old])
            try db.execute(sql: "INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES (?, 'superseded', ?, ?, ?)",
                           arguments: [old, "superseded by \(item.identifier)", actor, now])
        }
        try db.cachedStatement(sql: """
            INSERT INTO licence (id, issuer_code, number, version, type_code, type_name, holder_name, holder_code,
                holder_code_type, issuer_name, valid_from, valid_until, related_matter, fields, content_hash, signed, kid,
                status, status_list, status_index, issued_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'valid', ?, ?, ?)
            """).execute(arguments: [
                item.identifier.description, licence.issuer.code, licence.number, item.identifier.version, licence.typeCode,
                licence.typeName, licence.holder.name, licence.holder.code.value, licence.holder.code.kind.rawValue,
                licence.issuer.name, licence.validFrom.description, licence.validUntil?.description, licence.relatedMatter,
                try fieldsEncoder.encode(licence.fields), Data(item.contentHash), Data(signedBytes), kid, item.statusList,
                item.statusIndex, now,
            ])
        try db.cachedStatement(sql: "INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES (?, 'valid', ?, ?, ?)")
            .execute(arguments: [item.identifier.description, item.supersedes.map { "issued, superseding \($0)" } ?? "issued",
                                   actor, now])
        return StoredLicence(id: item.identifier, licence: licence, status: .valid, issuedAt: now, signedBytes: signedBytes,
                             kid: kid, statusList: item.statusList, statusIndex: item.statusIndex, supersededBy: nil)
    }
}

/// A licence ready to sign: identifier, slot and claims are fixed.
private struct PendingLicence: Sendable {
    var licence: Licence
    var identifier: LicenceIdentifier
    var claims: LicenceClaims
    var contentHash: [UInt8]
    var statusList: Int64
    var statusIndex: Int64
    var supersedes: String?
    var outcomeIndex = 0
}

/// SHA-256 over a canonical encoding of everything a licence says, to tell a repeated issuance
/// (a no-op) from a changed one.
enum ContentHash {
    static func of(_ licence: Licence) -> [UInt8] {
        let canonical = CBOR.array([
            .text(licence.typeCode), .text(licence.number), .text(licence.holder.name), .text(licence.holder.code.value),
            .text(licence.holder.code.kind.rawValue), .text(licence.issuer.code), .text(licence.issuer.name),
            .text(licence.validFrom.description), licence.validUntil.map { .text($0.description) } ?? .null,
            licence.relatedMatter.map { .text($0) } ?? .null,
            .map(licence.fields.map { CBOR.Entry(.text($0.key), .text($0.value)) }),
        ]).encoded()
        return Array(SHA256.hash(data: canonical))
    }
}

/// JSON columns.
enum JSONText {
    /// One encoder reused for many rows.
    struct Encoder {
        private let encoder: JSONEncoder = {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return encoder
        }()

        func encode<T: Encodable>(_ value: T) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        try Encoder().encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
