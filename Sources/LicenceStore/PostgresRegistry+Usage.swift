import PostgresNIO

/// Usage records, compactly (see `SQLiteRegistry`'s usage records): integers only, keys into
/// `usage_text` for the few texts, the licence by its status slot. A PostgreSQL row carries 28
/// bytes of header and pointer and an index entry about 20, more than a record's data, so records
/// are kept the way they are written: one row, `usage_batch`, for each write (a server's half
/// second of records), holding a column of each kind as an array, one element a record, in the
/// order written. A record's time is kept as seconds after the batch's first. Batches are found by
/// licence slot and by the identifier of a licence not in the registry through GIN indexes of those
/// arrays, by agency through a short array of the agencies a batch names (kept in the row, and
/// indexed), and by time through a BRIN index of their last time, a few pages for the whole table.
/// A row larger than about two kilobytes has its arrays compressed, and moved out of line if it is
/// still too large. Reads go through the newest batches first. A write of one record takes about
/// 420 bytes: the figures that matter, a busy server's, are for writes of thousands. The view
/// `usage_record` shows one row a record, with the columns of the earlier table, and
/// `usage_record_text` the same with their texts.
extension PostgresRegistry {
    /// Schema v6: moves records of the earlier, text-per-record form into the compact one, and
    /// leaves a view, `usage_record_text`, with the earlier columns for whoever reads the table by hand.
    static let compactUsageRecords: [String] = [
        "CREATE TABLE usage_text (id SERIAL PRIMARY KEY, text TEXT NOT NULL UNIQUE)",
        """
        INSERT INTO usage_text (text)
            SELECT action FROM usage_record UNION SELECT outcome FROM usage_record
            UNION SELECT cause FROM usage_record WHERE cause IS NOT NULL
            UNION SELECT authority FROM usage_record WHERE authority IS NOT NULL
            UNION SELECT authority_name FROM usage_record WHERE authority_name IS NOT NULL
            UNION SELECT u.licence_id FROM usage_record u
                  WHERE u.licence_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM licence l WHERE l.id = u.licence_id)
        """,
        """
        CREATE TABLE usage_compact (
            at BIGINT NOT NULL,
            agency_id INTEGER,
            status_list INTEGER,
            status_index INTEGER,
            other_licence INTEGER,
            action INTEGER NOT NULL,
            cause INTEGER,
            outcome INTEGER NOT NULL,
            authority INTEGER,
            authority_name INTEGER
        )
        """,
        """
        INSERT INTO usage_compact (at, agency_id, status_list, status_index, other_licence, action, cause, outcome, authority,
                                   authority_name)
            SELECT u.at, u.agency_id, l.status_list, l.status_index, CASE WHEN l.id IS NULL THEN o.id END, ac.id, c.id, oc.id,
                   au.id, an.id
            FROM usage_record u
            LEFT JOIN licence l ON l.id = u.licence_id
            LEFT JOIN usage_text o ON o.text = u.licence_id
            JOIN usage_text ac ON ac.text = u.action
            LEFT JOIN usage_text c ON c.text = u.cause
            JOIN usage_text oc ON oc.text = u.outcome
            LEFT JOIN usage_text au ON au.text = u.authority
            LEFT JOIN usage_text an ON an.text = u.authority_name
            ORDER BY u.id
        """,
        "DROP TABLE usage_record",
        "ALTER TABLE usage_compact RENAME TO usage_record",
        "CREATE INDEX usage_record_licence ON usage_record(status_list, status_index) WHERE status_list IS NOT NULL",
        "CREATE INDEX usage_record_other_licence ON usage_record(other_licence) WHERE other_licence IS NOT NULL",
        "CREATE INDEX usage_record_agency ON usage_record(agency_id, at)",
        "CREATE INDEX usage_record_at ON usage_record USING brin (at)",
        usageRecordTextView,
    ]

    /// The records' texts beside them, one row a record, for reading by hand (v6, and again over v8's view).
    static let usageRecordTextView = """
        CREATE VIEW usage_record_text AS
            SELECT u.at, u.agency_id, a.code AS agency, COALESCE(l.id, o.text) AS licence_id, ac.text AS action, c.text AS cause,
                   oc.text AS outcome, au.text AS authority, an.text AS authority_name
            FROM usage_record u
            LEFT JOIN agency a ON a.id = u.agency_id
            LEFT JOIN licence l ON l.status_list = u.status_list AND l.status_index = u.status_index
            LEFT JOIN usage_text o ON o.id = u.other_licence
            LEFT JOIN usage_text ac ON ac.id = u.action
            LEFT JOIN usage_text c ON c.id = u.cause
            LEFT JOIN usage_text oc ON oc.id = u.outcome
            LEFT JOIN usage_text au ON au.id = u.authority
            LEFT JOIN usage_text an ON an.id = u.authority_name
        """

    /// The kinds of a record, in the order of `usage_batch`'s arrays and of `unnest`'s columns.
    private static let usageArrays = ["at_offset", "agency_id", "slot", "other_licence", "action", "cause", "outcome", "authority",
                                      "authority_name"]

    /// The records of the batch `b`, one row `r` each: its values by kind, and `n`, its place.
    private static let unnestBatch = """
        unnest(\(usageArrays.map { "b." + $0 }.joined(separator: ", "))) WITH ORDINALITY AS r(\(usageArrays.joined(separator: ", ")), n)
        """

    /// A licence's status slot as usage batches keep it: the list in the high 32 bits, the index in the low.
    private static let licenceSlot = "(status_list << 32) | status_index"

    /// One row a record, from `usage_batch b`, with the columns of the earlier table (the slot as list
    /// and index) and the batch and place of the record within it; a query appends its conditions.
    static let usageRecordRows = """
        SELECT b.id AS batch, r.n, b.first_at + r.at_offset AS at, r.agency_id, r.slot >> 32 AS status_list,
               r.slot & 4294967295 AS status_index, r.slot, r.other_licence, r.action, r.cause, r.outcome, r.authority,
               r.authority_name
        FROM usage_batch b
        CROSS JOIN LATERAL \(unnestBatch)
        """

    /// Schema v8: records in batches. Records of the one-row-a-record form become batches of 5,000
    /// in the order of their times.
    static let batchUsageRecords: [String] = [
        """
        CREATE TABLE usage_batch (
            id BIGSERIAL PRIMARY KEY,
            first_at BIGINT NOT NULL,
            last_at BIGINT NOT NULL,
            at_offset INTEGER[] NOT NULL,
            agency_id INTEGER[] NOT NULL,
            agencies INTEGER[] NOT NULL,
            slot BIGINT[] NOT NULL,
            other_licence INTEGER[] NOT NULL,
            action INTEGER[] NOT NULL,
            cause INTEGER[] NOT NULL,
            outcome INTEGER[] NOT NULL,
            authority INTEGER[] NOT NULL,
            authority_name INTEGER[] NOT NULL
        )
        """,
        """
        INSERT INTO usage_batch (first_at, last_at, at_offset, agency_id, agencies, slot, other_licence, action, cause, outcome,
                                 authority, authority_name)
            SELECT MIN(at), MAX(at), array_agg((at - base)::int ORDER BY n), array_agg(agency_id::int ORDER BY n),
                   COALESCE(array_agg(DISTINCT agency_id::int) FILTER (WHERE agency_id IS NOT NULL), '{}'),
                   array_agg((status_list::bigint << 32) | status_index ORDER BY n), array_agg(other_licence ORDER BY n),
                   array_agg(action ORDER BY n), array_agg(cause ORDER BY n), array_agg(outcome ORDER BY n),
                   array_agg(authority ORDER BY n), array_agg(authority_name ORDER BY n)
            FROM (SELECT u.*, MIN(u.at) OVER (PARTITION BY (u.n - 1) / 5000) AS base
                  FROM (SELECT r.*, row_number() OVER (ORDER BY r.at, r.ctid) AS n FROM usage_record r) u) u
            GROUP BY (n - 1) / 5000 ORDER BY (n - 1) / 5000
        """,
        "DROP VIEW usage_record_text",
        "DROP TABLE usage_record",
        "CREATE INDEX usage_batch_slot ON usage_batch USING gin (slot)",
        "CREATE INDEX usage_batch_other_licence ON usage_batch USING gin (other_licence)",
        "CREATE INDEX usage_batch_agencies ON usage_batch USING gin (agencies)",
        "CREATE INDEX usage_batch_time ON usage_batch USING brin (last_at)",
        "CREATE VIEW usage_record AS \(usageRecordRows)",
        usageRecordTextView,
    ]

    /// Usage records are not announced: servers do not keep them in memory. One write is one batch:
    /// the keys of its licences, agencies and texts are looked up once each, and the batch's arrays
    /// are sent whole, so the database does no join or sort a record.
    public func recordUsage(_ records: [UsageRecord]) async throws(RegistryError) {
        guard !records.isEmpty else { return }
        let licences = Array(Set(records.compactMap(\.licence)))
        let agencyCodes = Array(Set(records.map(\.agency)))
        try await database.transaction { session in
            var slots: [String: Int64] = [:]
            for row in try await session.rows("""
                SELECT id, \(unescaped: Self.licenceSlot) FROM licence WHERE id = ANY(\(licences))
                """) {
                let (id, slot) = try row.decode((String, Int64).self)
                slots[id] = slot
            }
            var agencies: [String: Int64] = [:]
            for row in try await session.rows("SELECT code, id FROM agency WHERE code = ANY(\(agencyCodes))") {
                let (code, id) = try row.decode((String, Int64).self)
                agencies[code] = id
            }
            var texts = Set<String>()
            for record in records {
                texts.insert(record.action.rawValue)
                texts.insert(record.outcome)
                if let cause = record.cause { texts.insert(cause) }
                if let authority = record.authority {
                    texts.insert(authority)
                    texts.insert(record.authorityName ?? "")
                }
                if let licence = record.licence, slots[licence] == nil { texts.insert(licence) }
            }
            let sortedTexts = texts.sorted()
            // New texts first, in one order on every server, so that two servers adding the same
            // ones wait for each other rather than deadlock; only texts not there yet take an id.
            try await session.execute("""
                INSERT INTO usage_text (text)
                SELECT t FROM unnest(\(sortedTexts)::text[]) AS t WHERE NOT EXISTS (SELECT 1 FROM usage_text WHERE text = t) ORDER BY t
                ON CONFLICT (text) DO NOTHING
                """)
            var ids: [String: Int64] = [:]
            for row in try await session.rows("SELECT text, id FROM usage_text WHERE text = ANY(\(sortedTexts))") {
                let (text, id) = try row.decode((String, Int32).self)
                ids[text] = Int64(id)
            }
            // One batch, unless its times span more than an int's seconds (68 years; no server's
            // clock does that): then one batch for each run of records that fits.
            var start = 0
            while start < records.count {
                var (low, high, end) = (records[start].at, records[start].at, start + 1)
                while end < records.count, max(high, records[end].at) - min(low, records[end].at) <= Int64(Int32.max) {
                    (low, high, end) = (min(low, records[end].at), max(high, records[end].at), end + 1)
                }
                let run = records[start..<end]
                /// An array of integers as PostgreSQL writes it, NULL for a missing value.
                func array(_ values: (UsageRecord) -> Int64?) -> String {
                    "{" + run.map { values($0).map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
                }
                let named = Set(run.compactMap { agencies[$0.agency] }).sorted().map(String.init).joined(separator: ",")
                try await session.execute("""
                    INSERT INTO usage_batch (first_at, last_at, at_offset, agency_id, agencies, slot, other_licence, action, cause, outcome,
                                             authority, authority_name)
                    VALUES (\(low), \(high), \(array { $0.at - low })::int[], \(array { agencies[$0.agency] })::int[], \("{\(named)}")::int[],
                            \(array { $0.licence.flatMap { slots[$0] } })::bigint[],
                            \(array { record in record.licence.flatMap { slots[$0] == nil ? ids[$0] : nil } })::int[],
                            \(array { ids[$0.action.rawValue] })::int[], \(array { $0.cause.flatMap { ids[$0] } })::int[],
                            \(array { ids[$0.outcome] })::int[], \(array { $0.authority.flatMap { ids[$0] } })::int[],
                            \(array { $0.authority == nil ? nil : ids[$0.authorityName ?? ""] })::int[])
                    """)
                start = end
            }
        }
    }

    /// Reads records newest first, inside a read-only transaction (one snapshot), a few batches at a
    /// time, then their records that meet `records` (a condition on the record `u` of
    /// ``usageRecordRows``), until `limit` records are read or no batch is left. With `batches` (a
    /// condition on `usage_batch` that its GIN indexes answer), the batches are those the index
    /// finds, all at once: ordered by id and limited, the planner might instead walk the primary key
    /// and unpack every batch's arrays to test them. Without, they are the newest by id that meet
    /// `newest` (a condition on the batch's columns kept in its row, such as `agencies`). A round's
    /// batches grow fourfold, up to 256, so that a read of the newest records unpacks few.
    private static func newestUsage<Row: Sendable>(
        _ session: PostgresSession, batches: String?, newest: String = "TRUE", records: String, limit: Int,
        read: (_ records: String, _ remaining: Int) -> PostgresQuery, decode: (PostgresRow) throws -> Row
    ) async throws -> [Row] {
        var candidates: [Int64]? = nil
        if let batches {
            // A table of a few thousand large rows looks cheap to scan, and the planner does not count
            // the unpacking of each row's arrays that testing them takes (58 ms for 600 batches of
            // 5,000 records, where the index took 1.7 ms). The setting ends with the transaction.
            try await session.execute("SET LOCAL enable_seqscan = off")
            candidates = try await session.rows("SELECT id FROM usage_batch WHERE \(unescaped: batches)")
                .map { try $0.decode(Int64.self) }.sorted(by: >)
        }
        var found: [Row] = []
        var before = Int64.max, round = 4
        while found.count < limit {
            let ids: [Int64]
            if let candidates {
                ids = Array(candidates.drop { $0 >= before }.prefix(round))
            } else {
                ids = try await session.rows("""
                    SELECT id FROM usage_batch WHERE id < \(before) AND \(unescaped: newest) ORDER BY id DESC LIMIT \(Int64(round))
                    """).map { try $0.decode(Int64.self) }
            }
            guard let oldest = ids.last else { break }
            let list = ids.map(String.init).joined(separator: ",")
            let rows = "SELECT * FROM (\(usageRecordRows) WHERE b.id = ANY(ARRAY[\(list)]::bigint[])) u WHERE \(records)"
            found += try await session.rows(read(rows, limit - found.count)).map(decode)
            if ids.count < round { break }
            before = oldest
            round = min(round * 4, 256)
        }
        return found
    }

    public func usage(licenceID: String?, agencyCode: String?, limit: Int) async throws(RegistryError) -> [UsageRecord] {
        try await database.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            // Conditions on keys looked up first (integers, written into the query as such).
            var batches: String? = nil
            var newest = "TRUE", records = ["TRUE"]
            if let licenceID {
                // The licence's slot when it is in the registry, else the text of an identifier seen before.
                if let slot = try await session.scalar("""
                    SELECT \(unescaped: Self.licenceSlot) FROM licence WHERE id = \(licenceID)
                    """, as: Int64.self) {
                    batches = "slot @> ARRAY[\(slot)::bigint]"
                    records.append("u.slot = \(slot)")
                } else if let other = try await session.scalar("SELECT id FROM usage_text WHERE text = \(licenceID)", as: Int32.self) {
                    batches = "other_licence @> ARRAY[\(other)]"
                    records.append("u.other_licence = \(other)")
                } else {
                    return []
                }
            }
            if let agencyCode {
                guard let agency = try await session.scalar("SELECT id FROM agency WHERE code = \(agencyCode)", as: Int64.self) else {
                    return []
                }
                newest = "agencies @> ARRAY[\(agency)]"
                records.append("u.agency_id = \(agency)")
            }
            return try await Self.newestUsage(
                session, batches: batches, newest: newest, records: records.joined(separator: " AND "), limit: limit,
                read: { rows, remaining in
                    """
                    \(unescaped: UsageRecordQuery.columns) FROM (\(unescaped: rows)) u \(unescaped: UsageRecordQuery.joins)
                    ORDER BY u.batch DESC, u.n DESC LIMIT \(Int64(remaining))
                    """
                },
                decode: { row in
                    let (agency, licence, action, cause, outcome, at, authority, authorityName) =
                        try row.decode((String, String?, String, String?, String, Int64, String?, String?).self)
                    return UsageRecord(agency: agency, licence: licence, action: UsageRecord.Action(rawValue: action) ?? .read,
                                       cause: cause, outcome: outcome, at: at, authority: authority, authorityName: authorityName)
                })
        }
    }

    /// A holder's licences' records, newest first, through the index of batches by slot.
    public func holderUsage(holderCode: String, limit: Int) async throws(RegistryError) -> [HolderUsageRecord] {
        try await database.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            let slots = try await session.rows("""
                SELECT \(unescaped: Self.licenceSlot) FROM licence WHERE holder_code = \(holderCode)
                """).map { try $0.decode(Int64.self) }
            guard !slots.isEmpty else { return [] }
            let list = slots.map(String.init).joined(separator: ",")
            return try await Self.newestUsage(
                session, batches: "slot && ARRAY[\(list)]::bigint[]", records: "u.slot = ANY(ARRAY[\(list)]::bigint[])", limit: limit,
                read: { rows, remaining in
                    """
                    SELECT l.id, l.type_name, a.name, ac.text, c.text, oc.text, u.at
                    FROM (\(unescaped: rows)) u JOIN licence l ON l.status_list = u.status_list AND l.status_index = u.status_index
                    LEFT JOIN agency a ON a.id = u.agency_id JOIN usage_text ac ON ac.id = u.action
                    LEFT JOIN usage_text c ON c.id = u.cause JOIN usage_text oc ON oc.id = u.outcome
                    ORDER BY u.batch DESC, u.n DESC LIMIT \(Int64(remaining))
                    """
                },
                decode: { row in
                    let (licence, typeName, agency, action, cause, outcome, at) =
                        try row.decode((String, String, String?, String, String?, String, Int64).self)
                    return HolderUsageRecord(licence: licence, typeName: typeName, agency: agency,
                                             action: UsageRecord.Action(rawValue: action) ?? .read, cause: cause, outcome: outcome,
                                             at: at)
                })
        }
    }

    /// Counts unpack only the arrays they count by, of the batches whose last record is recent enough.
    public func usageStatistics(since: Int64) async throws(RegistryError) -> UsageStatistics {
        try await database.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            let perAgency = try await session.rows("""
                SELECT a.code, a.name, n FROM (
                    SELECT r.agency_id, COUNT(*) AS n
                    FROM usage_batch b CROSS JOIN LATERAL unnest(b.at_offset, b.agency_id) AS r(at_offset, agency_id)
                    WHERE b.last_at >= \(since) AND b.first_at + r.at_offset >= \(since) GROUP BY r.agency_id) u
                JOIN agency a ON a.id = u.agency_id ORDER BY n DESC, a.code
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            let perType = try await session.rows("""
                SELECT l.type_code, MIN(l.type_name), SUM(u.n)::bigint AS n FROM (
                    SELECT r.slot, COUNT(*) AS n FROM usage_batch b CROSS JOIN LATERAL unnest(b.at_offset, b.slot) AS r(at_offset, slot)
                    WHERE b.last_at >= \(since) AND b.first_at + r.at_offset >= \(since) AND r.slot IS NOT NULL GROUP BY r.slot) u
                JOIN licence l ON l.status_list = u.slot >> 32 AND l.status_index = u.slot & 4294967295
                GROUP BY l.type_code ORDER BY n DESC, l.type_code
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            let perAuthority = try await session.rows("""
                SELECT au.text, COALESCE(an.text, ''), n FROM (
                    SELECT r.authority, MIN(r.authority_name) AS authority_name, COUNT(*) AS n
                    FROM usage_batch b CROSS JOIN LATERAL unnest(b.at_offset, b.authority, b.authority_name)
                        AS r(at_offset, authority, authority_name)
                    WHERE b.last_at >= \(since) AND b.first_at + r.at_offset >= \(since) AND r.authority IS NOT NULL GROUP BY r.authority) u
                JOIN usage_text au ON au.id = u.authority LEFT JOIN usage_text an ON an.id = u.authority_name ORDER BY n DESC, au.text
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            return UsageStatistics(perAgency: perAgency, perType: perType, perAuthority: perAuthority)
        }
    }

    /// Deletes the batches wholly before `before`, 100 in a transaction so that no writer waits long,
    /// then rewrites the few that straddle it without their earlier records.
    public func purgeUsage(before: Int64) async throws(RegistryError) -> Int {
        var removed = 0
        while true {
            let (batches, records) = try await database.withSession(idempotent: false) { session -> (Int64, Int64) in
                guard let row = try await session.rows("""
                    WITH gone AS (DELETE FROM usage_batch
                                  WHERE id = ANY(ARRAY(SELECT id FROM usage_batch WHERE last_at < \(before) ORDER BY id LIMIT 100))
                                  RETURNING cardinality(at_offset) AS n)
                    SELECT COUNT(*), COALESCE(SUM(n), 0)::bigint FROM gone
                    """).first else { return (0, 0) }
                return try row.decode((Int64, Int64).self)
            }
            removed += Int(records)
            if batches < 100 { break }
        }
        let kept = Self.usageArrays.dropFirst().map { "array_agg(r.\($0) ORDER BY r.n) AS \($0)" }.joined(separator: ", ")
        removed += try await database.transaction { session in
            try await session.scalar("""
                WITH kept AS (
                    SELECT b.id, cardinality(b.at_offset) AS total, m.first_at, k.*
                    FROM usage_batch b
                    CROSS JOIN LATERAL (SELECT MIN(b.first_at + x) AS first_at FROM unnest(b.at_offset) AS x
                                        WHERE b.first_at + x >= \(before)) m
                    CROSS JOIN LATERAL (
                        SELECT array_agg((b.first_at + r.at_offset - m.first_at)::int ORDER BY r.n) AS at_offset, \(unescaped: kept),
                               COALESCE(array_agg(DISTINCT r.agency_id) FILTER (WHERE r.agency_id IS NOT NULL), '{}') AS agencies
                        FROM \(unescaped: Self.unnestBatch)
                        WHERE b.first_at + r.at_offset >= \(before)) k
                    WHERE b.first_at < \(before) AND b.last_at >= \(before)
                    FOR UPDATE OF b),
                rewritten AS (
                    UPDATE usage_batch b
                    SET first_at = kept.first_at, agencies = kept.agencies,
                        \(unescaped: Self.usageArrays.map { "\($0) = kept.\($0)" }.joined(separator: ", "))
                    FROM kept WHERE b.id = kept.id RETURNING kept.total - cardinality(kept.at_offset) AS n)
                SELECT COALESCE(SUM(n), 0)::bigint FROM rewritten
                """, as: Int64.self).map(Int.init) ?? 0
        }
        return removed
    }
}
