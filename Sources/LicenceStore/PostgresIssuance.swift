import Foundation
import LicenceCore
import NIOCore
import PostgresNIO

/// One batch of issue requests against PostgreSQL, in the same steps as on SQLite but arranged so
/// that concurrent issuers on other hosts neither block each other for long nor collide:
///
/// 1. check each request against its type and find licences that already hold its number (reads);
/// 2. reserve status-list slots for the new licences in a short transaction of their own;
/// 3. sign, on every core, outside any transaction;
/// 4. write everything in one transaction, with `ON CONFLICT DO NOTHING` so that a licence number
///    another issuer took meanwhile becomes `unchanged` or a failure of that request alone, and an
///    identifier collision a new identifier.
struct PostgresIssuance {
    let registry: PostgresRegistry
    let signer: any Signer
    let base: String
    let actor: String
    let now: Int64
    let kid: String
    private var random = SystemRandomNumberGenerator()

    init(registry: PostgresRegistry, signer: any Signer, base: String, actor: String, now: Int64) {
        self.registry = registry
        self.signer = signer
        self.base = base
        self.actor = actor
        self.now = now
        kid = Hex.encode(signer.kid)
    }

    /// A licence on its way into the registry.
    struct Item {
        var outcomeIndex: Int
        var licence: Licence
        var disclosed: [String]
        var hash: [UInt8]
        var identifier: LicenceIdentifier
        var supersedes: String?
        var slot = Slot(list: 0, index: 0, uri: "")
        var signed: [UInt8] = []

        var key: String { Self.key(licence.issuer.code, licence.number) }
        static func key(_ issuer: String, _ number: String) -> String { issuer + "\u{1f}" + number }

        func claims(issuedAt: Int64) -> LicenceClaims {
            LicenceClaims(licence: licence, identifier: identifier, issuedAt: issuedAt,
                          status: StatusReference(index: UInt64(slot.index), uri: slot.uri), disclosedFields: Set(disclosed))
        }
    }

    struct Slot {
        var list: Int64
        var index: Int64
        var uri: String
    }

    /// The licence holding an issuer + number now.
    struct Current {
        var id: String
        var version: Int
        var status: String
        var hash: [UInt8]
    }

    mutating func run(_ requests: [IssueRequest]) throws(RegistryError) -> [IssueOutcome] {
        var outcomes = [IssueOutcome?](repeating: nil, count: requests.count)
        guard !requests.isEmpty else { return [] }

        // 1. Checks against the catalogue and the licences already issued.
        let codes = Array(Set(requests.map(\.licence.typeCode)))
        let types = try registry.connections.withConnection { session in
            Dictionary(try session.query("SELECT \(unescaped: PostgresRegistry.typeColumns) FROM licence_type WHERE code = ANY(\(codes))")
                .rows.map { row in let type = try PostgresRegistry.type(from: row); return (type.code, type) },
                uniquingKeysWith: { a, _ in a })
        }
        var checked: [(index: Int, licence: Licence, type: LicenceType, hash: [UInt8], newVersion: Bool)] = []
        for (index, request) in requests.enumerated() {
            var licence = request.licence
            guard let type = types[licence.typeCode] else {
                outcomes[index] = .failed(LicenceCoreError(.invalidField, field: "type",
                    "licence type \(licence.typeCode) is not in the catalogue; add it with `elicence types add`"))
                continue
            }
            licence.typeName = type.name
            do { try type.check(licence) } catch {
                outcomes[index] = .failed(error)
                continue
            }
            checked.append((index, licence, type, ContentHash.of(licence), request.newVersion))
        }
        let current = try registry.connections.withConnection { session in
            try Self.currentLicences(checked.map { ($0.licence.issuer.code, $0.licence.number) }, session)
        }

        var items: [Item] = []
        var claimed = Set<String>()
        var unchanged: [(index: Int, id: String)] = []
        for entry in checked {
            let licence = entry.licence
            let key = Item.key(licence.issuer.code, licence.number)
            if claimed.contains(key) {
                outcomes[entry.index] = .failed(LicenceCoreError(.invalidField, field: "number",
                    "\(licence.number) appears twice in one batch; issue a licence number once"))
                continue
            }
            var identifier: LicenceIdentifier
            var supersedes: String?
            if let existing = current[key] {
                if existing.hash == entry.hash {
                    unchanged.append((entry.index, existing.id))
                    continue
                }
                if let refusal = Self.refusal(existing, newVersion: entry.newVersion, licence: licence) {
                    outcomes[entry.index] = .failed(refusal)
                    continue
                }
                do {
                    identifier = try LicenceIdentifier(parsing: existing.id).withVersion(existing.version + 1)
                } catch { throw RegistryError(.storage, "registry holds a malformed identifier \(existing.id): \(error)") }
                supersedes = existing.id
            } else {
                identifier = try newIdentifier(for: licence)
            }
            claimed.insert(key)
            items.append(Item(outcomeIndex: entry.index, licence: licence, disclosed: entry.type.disclosed, hash: entry.hash,
                              identifier: identifier, supersedes: supersedes))
        }
        if !unchanged.isEmpty {
            let found = try registry.connections.withConnection { session in
                try Self.storedLicences(unchanged.map(\.id), session)
            }
            for (index, id) in unchanged {
                guard let stored = found[id] else { throw RegistryError(.storage, "licence \(id) disappeared while it was read") }
                outcomes[index] = .unchanged(stored)
            }
        }
        guard !items.isEmpty else { return outcomes.map { $0! } }

        // New identifiers are random (16 digits); the one in 10^16 that is taken is drawn again.
        try avoidTakenIdentifiers(&items)

        // 2. Slots, reserved for good: a batch that fails later leaves them unused.
        let slots = try reserveSlots(items.count)
        for index in items.indices { items[index].slot = slots[index] }

        // 3. Signing, the slow step, on every core.
        try sign(&items, indexes: Array(items.indices))

        // 4. One transaction for the whole batch.
        let written = try write(items)
        for (index, outcome) in written { outcomes[index] = outcome }
        return outcomes.map { $0! }
    }

    /// Why an existing licence cannot be superseded by this request, or nil when it can.
    static func refusal(_ existing: Current, newVersion: Bool, licence: Licence) -> LicenceCoreError? {
        guard newVersion else {
            return LicenceCoreError(.invalidField, field: "number",
                "licence \(licence.number) of \(licence.issuer.code) already exists as \(existing.id) with different content; "
                    + "give --new-version to supersede it")
        }
        guard existing.status != LicenceStatus.revoked.rawValue else {
            return LicenceCoreError(.invalidField, field: "number",
                                    "licence \(existing.id) is revoked; a revoked licence cannot get a new version")
        }
        guard existing.version < 999 else {
            return LicenceCoreError(.invalidField, field: "number", "licence \(existing.id) has reached version 999")
        }
        return nil
    }

    private mutating func newIdentifier(for licence: Licence) throws(RegistryError) -> LicenceIdentifier {
        do {
            return try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: licence.issuer.code,
                                                  year: CalendarDate(chinaDayOf: now).year, using: &random)
        } catch { throw RegistryError(.invalid, "no identifier can be made for \(licence.number): \(error)") }
    }

    private mutating func avoidTakenIdentifiers(_ items: inout [Item]) throws(RegistryError) {
        for _ in 0..<5 {
            let fresh = items.filter { $0.supersedes == nil }.map(\.identifier.description)
            let taken = try registry.connections.withConnection { session in
                Set(try session.query("SELECT id FROM licence WHERE id = ANY(\(fresh))").rows.map { try $0.decode(String.self) })
            }
            if taken.isEmpty { return }
            for index in items.indices where items[index].supersedes == nil && taken.contains(items[index].identifier.description) {
                items[index].identifier = try newIdentifier(for: items[index].licence)
            }
        }
        throw RegistryError(.storage, "no free licence identifier was found")
    }

    /// The licences that now hold these issuer + number pairs, by key: one index lookup per pair
    /// (`LIMIT 1` keeps the planner from turning them into a join), a plan that stays the same however
    /// large the registry and whatever its statistics say.
    static func currentLicences(_ keys: [(issuer: String, number: String)],
                                _ session: PostgresSession) throws -> [String: Current] {
        guard !keys.isEmpty else { return [:] }
        var found: [String: Current] = [:]
        try session.forEach("""
            SELECT k.issuer_code, k.number, l.id, l.version, l.status, l.content_hash
            FROM unnest(\(keys.map(\.issuer))::text[], \(keys.map(\.number))::text[]) AS k(issuer_code, number)
            CROSS JOIN LATERAL (
                SELECT id, version, status, content_hash FROM licence
                WHERE issuer_code = k.issuer_code AND number = k.number AND status <> 'superseded' LIMIT 1
            ) l
            """) { row in
            let (issuer, number, id, version, status, hash) = try row.decode((String, String, String, Int64, String, ByteBuffer).self)
            found[Item.key(issuer, number)] = Current(id: id, version: Int(version), status: status,
                                                      hash: Array(hash.readableBytesView))
        }
        return found
    }

    static func storedLicences(_ ids: [String], _ session: PostgresSession) throws -> [String: StoredLicence] {
        var found: [String: StoredLicence] = [:]
        try session.forEach("SELECT \(unescaped: PostgresRegistry.licenceColumns) FROM licence WHERE id = ANY(\(ids))") { row in
            let stored = try PostgresRegistry.stored(from: row)
            found[stored.id.description] = stored
        }
        return found
    }

    /// `count` slots of the open status list for this public URL (opening new lists as they fill), in
    /// a transaction of their own under the slot lock, so that no two issuers get the same slot.
    func reserveSlots(_ count: Int) throws(RegistryError) -> [Slot] {
        let base = self.base, now = self.now
        return try registry.connections.transaction { session in
            try session.execute("SELECT pg_advisory_xact_lock(\(PostgresRegistry.Lock.slots.rawValue))")
            var slots: [Slot] = []
            slots.reserveCapacity(count)
            while slots.count < count {
                var list: (id: Int64, uri: String, used: Int64, size: Int64, seed: [UInt8])
                if let row = try session.query("""
                    SELECT id, uri, used, size, seed FROM status_list WHERE base_url = \(base) AND used < size ORDER BY id LIMIT 1
                    """).rows.first {
                    let (id, uri, used, size, seed) = try row.decode((Int64, String, Int64, Int64, ByteBuffer).self)
                    list = (id, uri, used, size, Array(seed.readableBytesView))
                } else {
                    var generator = SystemRandomNumberGenerator()
                    let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    let id = try session.scalar("SELECT COALESCE(MAX(id), -1) + 1 FROM status_list", as: Int64.self) ?? 0
                    let uri = "\(base)/v1/status-lists/\(id)"
                    try session.execute("""
                        INSERT INTO status_list (id, uri, base_url, size, used, seed, created_at)
                        VALUES (\(id), \(uri), \(base), \(Int64(SlotPermutation.size)), 0, \(ByteBuffer(bytes: seed)), \(now))
                        """)
                    list = (id, uri, 0, Int64(SlotPermutation.size), seed)
                }
                let take = min(Int64(count - slots.count), list.size - list.used)
                try session.execute("UPDATE status_list SET used = used + \(take) WHERE id = \(list.id)")
                let permutation = SlotPermutation(seed: list.seed)
                for position in list.used..<(list.used + take) {
                    slots.append(Slot(list: list.id, index: Int64(permutation.permute(Int(position))), uri: list.uri))
                }
            }
            return slots
        }
    }

    /// Signs the items at `indexes`, spread over every core.
    private func sign(_ items: inout [Item], indexes: [Int]) throws(RegistryError) {
        let signer = self.signer, now = self.now
        let claims = indexes.map { items[$0].claims(issuedAt: now) }
        let signed = claims.concurrentMap { claims in Result { try LicenceToken.sign1(claims, with: signer).encoded() } }
        for (position, index) in indexes.enumerated() {
            switch signed[position] {
            case .success(let bytes): items[index].signed = bytes
            case .failure(let error): throw RegistryError(.storage, "signing failed: \(error)")
            }
        }
    }

    /// Writes the batch in one transaction; returns the outcome of each item by request index.
    private mutating func write(_ batch: [Item]) throws(RegistryError) -> [(Int, IssueOutcome)] {
        var items = batch
        for _ in 0..<5 {
            // Identifiers that another issuer took meanwhile: the transaction is rolled back, and they
            // are drawn again and signed again before the next attempt.
            var collisions = Set<String>()
            let kid = self.kid, actor = self.actor, now = self.now
            let attempt = items
            do {
                return try registry.connections.transaction { session in
                    collisions = []
                    return try Self.write(attempt, kid: kid, actor: actor, now: now, collisions: &collisions, session)
                }
            } catch where error.code == .retry {
                let positions = items.indices.filter { collisions.contains(items[$0].identifier.description) }
                for index in positions { items[index].identifier = try newIdentifier(for: items[index].licence) }
                try sign(&items, indexes: positions)
            }
        }
        throw RegistryError(.storage, "no free licence identifier was found")
    }

    private static func write(_ items: [Item], kid: String, actor: String, now: Int64, collisions: inout Set<String>,
                              _ session: PostgresSession) throws -> [(Int, IssueOutcome)] {
        var written: [(Int, IssueOutcome)] = []
        var pending = items
        // Superseded versions give up their number first. They are locked, and checked again: another
        // issuer may have superseded or revoked one since it was read.
        let olds = pending.compactMap(\.supersedes)
        if !olds.isEmpty {
            var stillCurrent = Set<String>()
            try session.forEach("SELECT id, status FROM licence WHERE id = ANY(\(olds)) ORDER BY id FOR UPDATE") { row in
                let (id, status) = try row.decode((String, String).self)
                if status == LicenceStatus.valid.rawValue || status == LicenceStatus.suspended.rawValue { stillCurrent.insert(id) }
            }
            pending.removeAll { item in
                guard let old = item.supersedes, !stillCurrent.contains(old) else { return false }
                written.append((item.outcomeIndex, .failed(LicenceCoreError(.invalidField, field: "number",
                    "licence \(old) was revoked or superseded while this batch ran; run it again"))))
                return true
            }
            let superseding = pending.filter { $0.supersedes != nil }
            try session.execute("""
                UPDATE licence SET status = 'superseded', superseded_by = u.new
                FROM unnest(\(superseding.map { $0.supersedes! })::text[], \(superseding.map(\.identifier.description))::text[])
                  AS u(old, new)
                WHERE licence.id = u.old
                """)
        }
        // Numbers in one order in every batch: two batches waiting for each other's numbers would deadlock.
        pending.sort { $0.key < $1.key }
        let inserted = try insert(pending, kid: kid, now: now, session)
        let rejected = pending.filter { !inserted.contains($0.identifier.description) }
        if !rejected.isEmpty {
            // Another issuer took the number meanwhile (the same licence: unchanged; another: refused),
            // or, once in a blue moon, the identifier.
            let holders = try currentLicences(rejected.map { ($0.licence.issuer.code, $0.licence.number) }, session)
            var unchangedIDs: [(Int, String)] = []
            for item in rejected {
                guard item.supersedes == nil else {
                    throw RegistryError(.storage, "licence \(item.identifier) could not be written")
                }
                if let holder = holders[item.key] {
                    if holder.hash == item.hash {
                        unchangedIDs.append((item.outcomeIndex, holder.id))
                    } else {
                        written.append((item.outcomeIndex, .failed(refusal(holder, newVersion: false, licence: item.licence)!)))
                    }
                } else {
                    collisions.insert(item.identifier.description)
                }
            }
            if !collisions.isEmpty { throw RegistryError(.retry, "licence identifiers were taken meanwhile") }
            let found = try storedLicences(unchangedIDs.map(\.1), session)
            for (index, id) in unchangedIDs {
                guard let stored = found[id] else { throw RegistryError(.storage, "licence \(id) disappeared while it was read") }
                written.append((index, .unchanged(stored)))
            }
        }
        let stored = pending.filter { inserted.contains($0.identifier.description) }
        try appendEvents(stored, actor: actor, now: now, session)
        if !stored.isEmpty { try PostgresRegistry.notify(session, "issue") }
        for item in stored {
            written.append((item.outcomeIndex, .issued(StoredLicence(
                id: item.identifier, licence: item.licence, status: .valid, issuedAt: now, signedBytes: item.signed, kid: kid,
                statusList: item.slot.list, statusIndex: item.slot.index, supersededBy: nil))))
        }
        return written
    }

    /// Inserts the licences in one statement; returns the identifiers actually inserted.
    static func insert(_ items: [Item], kid: String, now: Int64, _ session: PostgresSession) throws -> Set<String> {
        guard !items.isEmpty else { return [] }
        let encoder = JSONText.Encoder()
        var fields: [String] = []
        fields.reserveCapacity(items.count)
        for item in items { fields.append(try encoder.encode(item.licence.fields)) }
        let licences = items.map(\.licence)
        let query: PostgresQuery = """
            INSERT INTO licence (id, issuer_code, number, version, type_code, type_name, holder_name, holder_code,
                holder_code_type, issuer_name, valid_from, valid_until, related_matter, fields, content_hash, signed, kid,
                status, status_list, status_index, issued_at)
            SELECT u.id, u.issuer_code, u.number, u.version, u.type_code, u.type_name, u.holder_name, u.holder_code,
                u.holder_code_type, u.issuer_name, u.valid_from, CASE WHEN u.has_until THEN u.valid_until END,
                CASE WHEN u.has_matter THEN u.related_matter END, u.fields, u.content_hash, u.signed, \(kid),
                'valid', u.status_list, u.status_index, \(now)
            FROM unnest(\(items.map(\.identifier.description))::text[], \(licences.map(\.issuer.code))::text[],
                        \(licences.map(\.number))::text[], \(items.map { Int64($0.identifier.version) })::bigint[],
                        \(licences.map(\.typeCode))::text[], \(licences.map(\.typeName))::text[],
                        \(licences.map(\.holder.name))::text[], \(licences.map(\.holder.code.value))::text[],
                        \(licences.map(\.holder.code.kind.rawValue))::text[], \(licences.map(\.issuer.name))::text[],
                        \(licences.map(\.validFrom.description))::text[], \(licences.map { $0.validUntil?.description ?? "" })::text[],
                        \(licences.map { $0.validUntil != nil })::bool[], \(licences.map { $0.relatedMatter ?? "" })::text[],
                        \(licences.map { $0.relatedMatter != nil })::bool[], \(fields)::text[],
                        \(items.map { ByteBuffer(bytes: $0.hash) })::bytea[], \(items.map { ByteBuffer(bytes: $0.signed) })::bytea[],
                        \(items.map(\.slot.list))::bigint[], \(items.map(\.slot.index))::bigint[])
              AS u(id, issuer_code, number, version, type_code, type_name, holder_name, holder_code, holder_code_type,
                   issuer_name, valid_from, valid_until, has_until, related_matter, has_matter, fields, content_hash, signed,
                   status_list, status_index)
            ON CONFLICT DO NOTHING
            RETURNING id
            """
        return Set(try session.query(query).rows.map { try $0.decode(String.self) })
    }

    /// The history entries of a written batch: `superseded` for each old version, `valid` for each new licence.
    static func appendEvents(_ items: [Item], actor: String, now: Int64, _ session: PostgresSession) throws {
        guard !items.isEmpty else { return }
        var ids: [String] = [], statuses: [String] = [], reasons: [String] = []
        for item in items {
            if let old = item.supersedes {
                ids.append(old)
                statuses.append(LicenceStatus.superseded.rawValue)
                reasons.append("superseded by \(item.identifier)")
            }
            ids.append(item.identifier.description)
            statuses.append(LicenceStatus.valid.rawValue)
            reasons.append(item.supersedes.map { "issued, superseding \($0)" } ?? "issued")
        }
        try PostgresRegistry.lockEvents(session)
        try session.execute("""
            INSERT INTO status_event (licence_id, status, reason, actor, at)
            SELECT u.licence_id, u.status, u.reason, \(actor), \(now)
            FROM unnest(\(ids)::text[], \(statuses)::text[], \(reasons)::text[]) WITH ORDINALITY AS u(licence_id, status, reason, n)
            ORDER BY u.n
            """)
    }
}
