import Foundation
import LicenceCore
import NIOCore
import LicenceLog
import PostgresNIO

/// Reads and writes of issuance on PostgreSQL; ``IssuePlanner`` decides. Statements take whole
/// batches as arrays (`unnest`), so a batch costs a few round trips whatever its size.
extension PostgresRegistry {
    func types(codes: [String]) async throws(RegistryError) -> [String: LicenceType] {
        try await database.withSession { session in
            var found: [String: LicenceType] = [:]
            for row in try await session.rows("SELECT \(unescaped: Self.typeColumns) FROM licence_type WHERE code = ANY(\(codes))") {
                let type = try Self.type(from: row)
                found[type.code] = type
            }
            return found
        }
    }

    func currentLicences(_ numbers: [LicenceNumber]) async throws(RegistryError) -> [LicenceNumber: CurrentLicence] {
        try await database.withSession { session in try await Self.currentLicences(numbers, session) }
    }

    /// One index lookup per number (`LIMIT 1` keeps the planner from turning them into a join): a
    /// plan that stays the same however large the registry and whatever its statistics say.
    static func currentLicences(_ numbers: [LicenceNumber], _ session: PostgresSession) async throws -> [LicenceNumber: CurrentLicence] {
        guard !numbers.isEmpty else { return [:] }
        var found: [LicenceNumber: CurrentLicence] = [:]
        for row in try await session.rows("""
            SELECT k.issuer_code, k.number, l.id, l.version, l.status, l.content_hash
            FROM unnest(\(numbers.map(\.issuer))::text[], \(numbers.map(\.number))::text[]) AS k(issuer_code, number)
            CROSS JOIN LATERAL (
                SELECT id, version, status, content_hash FROM licence
                WHERE issuer_code = k.issuer_code AND number = k.number AND status <> 'superseded' LIMIT 1
            ) l
            """) {
            let (issuer, number, id, version, status, hash) = try row.decode((String, String, String, Int64, String, ByteBuffer).self)
            found[LicenceNumber(issuer: issuer, number: number)] = CurrentLicence(
                id: id, version: Int(version), status: LicenceStatus(rawValue: status) ?? .revoked,
                contentHash: Array(hash.readableBytesView))
        }
        return found
    }

    func storedLicences(ids: [String]) async throws(RegistryError) -> [String: StoredLicence] {
        try await database.withSession { session in
            var found: [String: StoredLicence] = [:]
            for row in try await session.rows("SELECT \(unescaped: Self.licenceColumns) FROM licence WHERE id = ANY(\(ids))") {
                let stored = try Self.stored(from: row)
                found[stored.id.description] = stored
            }
            return found
        }
    }

    func holderNames(codes: [String], excluding: [String]) async throws(RegistryError) -> [String: [RegisteredHolder]] {
        guard !codes.isEmpty else { return [:] }
        return try await database.withSession { session in
            var found: [String: [RegisteredHolder]] = [:]
            // The code's distinct names, each found by one seek of the index (holder_code, holder_name,
            // issued_at) however many licences the holder has, then each name's first current licence.
            for row in try await session.rows("""
                SELECT k.code, f.holder_name, f.number, f.id, f.issued_at
                FROM unnest(\(codes)::text[]) AS k(code)
                CROSS JOIN LATERAL (
                    WITH RECURSIVE names(name) AS (
                        SELECT MIN(holder_name) FROM licence WHERE holder_code = k.code
                        UNION ALL
                        SELECT (SELECT MIN(holder_name) FROM licence WHERE holder_code = k.code AND holder_name > names.name)
                        FROM names WHERE names.name IS NOT NULL
                    )
                    SELECT name FROM names WHERE name IS NOT NULL LIMIT \(Int64(RegisteredHolder.namesLookedAt))
                ) n
                CROSS JOIN LATERAL (
                    SELECT holder_name, number, id, issued_at FROM licence
                    WHERE holder_code = k.code AND holder_name = n.name AND status <> 'superseded' AND id <> ALL(\(excluding)::text[])
                    ORDER BY issued_at, id LIMIT 1
                ) f
                """) {
                let (code, name, number, id, issuedAt) = try row.decode((String, String, String, String, Int64).self)
                found[code, default: []].append(RegisteredHolder(name: name, number: number, id: id, issuedAt: issuedAt))
            }
            found = found.mapValues(RegisteredHolder.firstNamed)
            return found
        }
    }

    /// Under the slot lock, held until commit: no two issuers, on any host, get the same slot.
    func reserveSlots(count: Int, base: String, now: Int64) async throws(RegistryError) -> [Slot] {
        try await database.transaction { session in
            try await session.execute("SELECT pg_advisory_xact_lock(\(Lock.slots.rawValue))")
            var open: StatusListRow?
            if let row = try await session.rows("""
                SELECT id, uri, size, used, seed FROM status_list WHERE base_url = \(base) AND used < size ORDER BY id LIMIT 1
                """).first {
                let (id, uri, size, used, seed) = try row.decode((Int64, String, Int64, Int64, ByteBuffer).self)
                open = StatusListRow(number: id, uri: uri, base: base, size: size, used: used, seed: Array(seed.readableBytesView))
            }
            let next = try await session.scalar("SELECT COALESCE(MAX(id), -1) + 1 FROM status_list", as: Int64.self) ?? 0
            let reservation = SlotReservation(count: count, open: open, nextNumber: next, base: base)
            for list in reservation.created {
                try await session.execute("""
                    INSERT INTO status_list (id, uri, base_url, size, used, seed, created_at)
                    VALUES (\(list.number), \(list.uri), \(list.base), \(list.size), \(list.used), \(ByteBuffer(bytes: list.seed)), \(now))
                    """)
            }
            if let open = reservation.openListUsed {
                try await session.execute("UPDATE status_list SET used = \(open.used) WHERE id = \(open.number)")
            }
            return reservation.slots
        }
    }

    func write(_ items: [PlannedLicence], kid: String, actor: String, now: Int64) async throws(RegistryError) -> IssueWrite {
        do {
            let results = try await database.transaction { session in
                try await Self.write(items, kid: kid, actor: actor, now: now, session)
            }
            if results.contains(.written) { noteCommit() }
            return .committed(results)
        } catch where error.takenIdentifiers != nil {
            return .identifiersTaken(error.takenIdentifiers!)
        }
    }

    private static func write(_ items: [PlannedLicence], kid: String, actor: String, now: Int64,
                              _ session: PostgresSession) async throws -> [ItemWrite] {
        var results = [ItemWrite?](repeating: nil, count: items.count)
        // Old versions give up their number first. They are locked, and checked again: another issuer
        // may have superseded or revoked one since it was read.
        let olds = items.compactMap(\.supersedes)
        if !olds.isEmpty {
            var stillCurrent = Set<String>()
            for row in try await session.rows("SELECT id, status FROM licence WHERE id = ANY(\(olds)) ORDER BY id FOR UPDATE") {
                let (id, status) = try row.decode((String, String).self)
                if status == LicenceStatus.valid.rawValue || status == LicenceStatus.suspended.rawValue { stillCurrent.insert(id) }
            }
            var superseding: [PlannedLicence] = []
            for (index, item) in items.enumerated() {
                guard let old = item.supersedes else { continue }
                if stillCurrent.contains(old) { superseding.append(item) } else { results[index] = .oldVersionChanged(old) }
            }
            try await session.execute("""
                UPDATE licence SET status = 'superseded', superseded_by = u.new
                FROM unnest(\(superseding.map { $0.supersedes! })::text[], \(superseding.map(\.identifier.description))::text[])
                  AS u(old, new)
                WHERE licence.id = u.old
                """)
        }
        // The history and the log are appended under the event lock, held until commit; taken before
        // the insert, it fixes the log's size, so each licence row is written with the index of its
        // issuance leaf at once rather than inserted and then updated (an update writes the row and
        // every index entry of it again). The indexes hold when every pending licence is written.
        try await lockEvents(session)
        let size = try await logSize(session)
        let logIndexes = LogRecord.disabled ? [:] : issuanceLeaves(items.indices.filter { results[$0] == nil }.map { items[$0] }, from: size)
        // Numbers in one order in every batch: two batches waiting for each other's numbers would deadlock.
        let pending = items.indices.filter { results[$0] == nil }.sorted { items[$0].number.sortKey < items[$1].number.sortKey }
        let inserted = try await insert(pending.map { items[$0] }, kid: kid, now: now, logIndexes: logIndexes, session)
        var taken = Set<String>()
        let rejected = pending.filter { !inserted.contains(items[$0].identifier.description) }
        if !rejected.isEmpty {
            // Another issuer took the number meanwhile, or, once in a blue moon, the identifier.
            let holders = try await currentLicences(rejected.map { items[$0].number }, session)
            for index in rejected {
                guard items[index].supersedes == nil else {
                    throw RegistryError(.storage, "licence \(items[index].identifier) could not be written")
                }
                if let holder = holders[items[index].number] {
                    results[index] = .numberTaken(holder)
                } else {
                    taken.insert(items[index].identifier.description)
                }
            }
        }
        if !taken.isEmpty { throw RegistryError.identifiersTaken(taken) }
        for index in pending where results[index] == nil { results[index] = .written }
        let written = items.indices.filter { results[$0] == .written }.map { items[$0] }
        // A licence not written moved the leaves of those after it: their rows are given their indexes again.
        try await appendEvents(written, kid: kid, actor: actor, now: now, size: size, rowsIndexed: rejected.isEmpty, session)
        if !written.isEmpty { try await PostgresRegistry.notify(session, "issue") }
        return results.map { $0! }
    }

    /// Inserts the licences in one statement; returns the identifiers actually inserted.
    private static func insert(_ items: [PlannedLicence], kid: String, now: Int64, logIndexes: [String: Int64],
                               _ session: PostgresSession) async throws -> Set<String> {
        guard !items.isEmpty else { return [] }
        let fields = items.map(\.columns.fields)
        let licences = items.map(\.licence)
        let query: PostgresQuery = """
            INSERT INTO licence (id, issuer_code, number, version, type_code, type_name, holder_name, holder_code,
                holder_code_type, issuer_name, valid_from, valid_until, related_matter, fields, content_hash, signed, kid,
                status, status_list, status_index, issued_at, id_hash, log_index)
            SELECT u.id, u.issuer_code, u.number, u.version, u.type_code, u.type_name, u.holder_name, u.holder_code,
                u.holder_code_type, u.issuer_name, u.valid_from, CASE WHEN u.has_until THEN u.valid_until END,
                CASE WHEN u.has_matter THEN u.related_matter END, u.fields, u.content_hash, u.signed, \(kid),
                'valid', u.status_list, u.status_index, \(now), u.id_hash, NULLIF(u.log_index, -1)
            FROM unnest(\(items.map(\.identifier.description))::text[], \(licences.map(\.issuer.code))::text[],
                        \(licences.map(\.number))::text[], \(items.map { Int64($0.identifier.version) })::bigint[],
                        \(licences.map(\.typeCode))::text[], \(licences.map(\.typeName))::text[],
                        \(licences.map(\.holder.name))::text[], \(licences.map(\.holder.code.value))::text[],
                        \(licences.map(\.holder.code.kind.rawValue))::text[], \(licences.map(\.issuer.name))::text[],
                        \(licences.map(\.validFrom.description))::text[], \(licences.map { $0.validUntil?.description ?? "" })::text[],
                        \(licences.map { $0.validUntil != nil })::bool[], \(licences.map { $0.relatedMatter ?? "" })::text[],
                        \(licences.map { $0.relatedMatter != nil })::bool[], \(fields)::text[],
                        \(items.map { ByteBuffer(bytes: $0.contentHash) })::bytea[], \(items.map { ByteBuffer(bytes: $0.signed) })::bytea[],
                        \(items.map(\.slot.list))::bigint[], \(items.map(\.slot.index))::bigint[],
                        \(items.map { ByteBuffer(bytes: $0.columns.idHash) })::bytea[],
                        \(items.map { logIndexes[$0.identifier.description] ?? -1 })::bigint[])
              AS u(id, issuer_code, number, version, type_code, type_name, holder_name, holder_code, holder_code_type,
                   issuer_name, valid_from, valid_until, has_until, related_matter, has_matter, fields, content_hash, signed,
                   status_list, status_index, id_hash, log_index)
            ON CONFLICT DO NOTHING
            RETURNING id
            """
        return Set(try await session.rows(query).map { try $0.decode(String.self) })
    }

    /// The history entries of a written batch, in order, each with its leaf in the log from `size`
    /// on; the caller holds the event lock. Unless `rowsIndexed` (the insert already set them), each
    /// new licence is given the index of its issuance leaf.
    private static func appendEvents(_ items: [PlannedLicence], kid: String, actor: String, now: Int64, size: Int64,
                                     rowsIndexed: Bool, _ session: PostgresSession) async throws {
        guard !items.isEmpty else { return }
        var ids: [String] = [], statuses: [String] = [], reasons: [String] = [], indexes: [Int64] = []
        var leaves: [LogLeaf] = []
        for item in items {
            for event in item.statusEvents {
                ids.append(event.licence)
                statuses.append(event.status.rawValue)
                reasons.append(event.reason)
                indexes.append(size + Int64(leaves.count))
                if event.status == .valid {
                    leaves.append(item.issuanceLeaf(kid: kid, now: now))
                } else {
                    leaves.append(.statusChange(identifier: event.licence, status: event.status.rawValue, at: now))
                }
            }
        }
        let logged = !LogRecord.disabled
        try await session.execute("""
            INSERT INTO status_event (licence_id, status, reason, actor, at, log_index)
            SELECT u.licence_id, u.status, u.reason, \(actor), \(now), CASE WHEN \(logged) THEN u.log_index END
            FROM unnest(\(ids)::text[], \(statuses)::text[], \(reasons)::text[], \(indexes)::bigint[]) WITH ORDINALITY
              AS u(licence_id, status, reason, log_index, n)
            ORDER BY u.n
            """)
        guard logged else { return }
        if !rowsIndexed {
            let indexed = issuanceLeaves(items, from: size)
            try await session.execute("""
            UPDATE licence SET log_index = u.log_index
            FROM unnest(\(Array(indexed.keys))::text[], \(Array(indexed.values))::bigint[]) AS u(id, log_index)
            WHERE licence.id = u.id
            """)
        }
        try await appendLog(session, size: size, leaves: leaves)
    }

    /// The log index of each licence's issuance leaf when `items` append their status events, in
    /// order, from `size` on (a new version's leaf follows its old version's).
    private static func issuanceLeaves(_ items: [PlannedLicence], from size: Int64) -> [String: Int64] {
        var indexes: [String: Int64] = [:]
        var next = size
        for event in items.flatMap(\.statusEvents) {
            if event.status == .valid { indexes[event.licence] = next }
            next += 1
        }
        return indexes
    }
}

extension LicenceNumber {
    /// One order for every batch.
    var sortKey: String { issuer + "\u{1f}" + number }
}
