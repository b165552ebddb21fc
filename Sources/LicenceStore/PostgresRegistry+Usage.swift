import PostgresNIO

/// Usage records, compactly (see `SQLiteRegistry`'s usage records): integers only, keys into
/// `usage_text` for the few texts, the licence by its status slot. PostgreSQL keeps no record id:
/// records are read by licence and by agency through their indexes, and by time through a BRIN
/// index, a few pages for the whole table, since records are appended in the order of their times.
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
        """
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
        """,
    ]

    /// Usage records are not announced: servers do not keep them in memory.
    public func recordUsage(_ records: [UsageRecord]) async throws(RegistryError) {
        guard !records.isEmpty else { return }
        var texts = Set<String>()
        for record in records {
            texts.insert(record.action.rawValue)
            texts.insert(record.outcome)
            if let cause = record.cause { texts.insert(cause) }
            if let authority = record.authority {
                texts.insert(authority)
                texts.insert(record.authorityName ?? "")
            }
        }
        let licences = Array(Set(records.compactMap(\.licence)))
        try await database.transaction { session in
            // New texts first, in one order on every server, so that two servers adding the same
            // ones wait for each other rather than deadlock; only texts not there yet take an id.
            try await session.execute("""
                INSERT INTO usage_text (text)
                SELECT t FROM (SELECT t FROM unnest(\(texts.sorted())::text[]) AS t
                               UNION SELECT t FROM unnest(\(licences)::text[]) AS t WHERE NOT EXISTS (SELECT 1 FROM licence WHERE id = t)) AS n
                WHERE NOT EXISTS (SELECT 1 FROM usage_text WHERE text = t) ORDER BY t
                ON CONFLICT (text) DO NOTHING
                """)
            try await session.execute("""
                INSERT INTO usage_record (at, agency_id, status_list, status_index, other_licence, action, cause, outcome, authority,
                                          authority_name)
                SELECT u.at, a.id, l.status_list, l.status_index, o.id, ac.id, c.id, oc.id, au.id, an.id
                FROM unnest(\(records.map(\.agency))::text[], \(records.map { $0.licence ?? "" })::text[],
                            \(records.map { $0.licence != nil })::bool[], \(records.map(\.action.rawValue))::text[],
                            \(records.map { $0.cause ?? "" })::text[], \(records.map { $0.cause != nil })::bool[],
                            \(records.map(\.outcome))::text[], \(records.map(\.at))::bigint[],
                            \(records.map { $0.authority ?? "" })::text[], \(records.map { $0.authorityName ?? "" })::text[],
                            \(records.map { $0.authority != nil })::bool[]) WITH ORDINALITY
                  AS u(agency, licence_id, has_licence, action, cause, has_cause, outcome, at, authority, authority_name,
                       has_authority, n)
                LEFT JOIN agency a ON a.code = u.agency
                LEFT JOIN licence l ON u.has_licence AND l.id = u.licence_id
                LEFT JOIN usage_text o ON u.has_licence AND l.id IS NULL AND o.text = u.licence_id
                JOIN usage_text ac ON ac.text = u.action
                LEFT JOIN usage_text c ON u.has_cause AND c.text = u.cause
                JOIN usage_text oc ON oc.text = u.outcome
                LEFT JOIN usage_text au ON u.has_authority AND au.text = u.authority
                LEFT JOIN usage_text an ON u.has_authority AND an.text = u.authority_name
                ORDER BY u.n
                """)
        }
    }

    public func usage(licenceID: String?, agencyCode: String?, limit: Int) async throws(RegistryError) -> [UsageRecord] {
        try await database.withSession { session in
            // The licence's slot when it is in the registry, else the text of an identifier seen before.
            try await session.rows("""
                \(unescaped: UsageRecordQuery.columns) FROM usage_record u \(unescaped: UsageRecordQuery.joins)
                WHERE (\(licenceID)::text IS NULL
                       OR (u.status_list, u.status_index) = (SELECT status_list, status_index FROM licence WHERE id = \(licenceID))
                       OR u.other_licence = (SELECT id FROM usage_text WHERE text = \(licenceID)))
                  AND (\(agencyCode)::text IS NULL OR u.agency_id = (SELECT id FROM agency WHERE code = \(agencyCode)))
                ORDER BY u.at DESC LIMIT \(Int64(limit))
                """).map { row in
                let (agency, licence, action, cause, outcome, at, authority, authorityName) =
                    try row.decode((String, String?, String, String?, String, Int64, String?, String?).self)
                return UsageRecord(agency: agency, licence: licence, action: UsageRecord.Action(rawValue: action) ?? .read,
                                   cause: cause, outcome: outcome, at: at, authority: authority, authorityName: authorityName)
            }
        }
    }

    public func usageStatistics(since: Int64) async throws(RegistryError) -> UsageStatistics {
        try await database.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            let perAgency = try await session.rows("""
                SELECT a.code, a.name, n FROM (SELECT agency_id, COUNT(*) AS n FROM usage_record WHERE at >= \(since) GROUP BY agency_id) u
                JOIN agency a ON a.id = u.agency_id ORDER BY n DESC, a.code
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            let perType = try await session.rows("""
                SELECT l.type_code, MIN(l.type_name), COUNT(*) AS n FROM usage_record u
                JOIN licence l ON l.status_list = u.status_list AND l.status_index = u.status_index
                WHERE u.at >= \(since) GROUP BY l.type_code ORDER BY n DESC, l.type_code
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            let perAuthority = try await session.rows("""
                SELECT au.text, COALESCE(an.text, ''), n FROM (SELECT authority, MIN(authority_name) AS authority_name, COUNT(*) AS n
                FROM usage_record WHERE at >= \(since) AND authority IS NOT NULL GROUP BY authority) u
                JOIN usage_text au ON au.id = u.authority LEFT JOIN usage_text an ON an.id = u.authority_name ORDER BY n DESC, au.text
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            return UsageStatistics(perAgency: perAgency, perType: perType, perAuthority: perAuthority)
        }
    }

    /// Deletes in transactions of 5,000 rows, so that no writer waits long.
    public func purgeUsage(before: Int64) async throws(RegistryError) -> Int {
        var removed = 0
        while true {
            let count = try await database.withSession(idempotent: false) { session in
                try await session.query("""
                    DELETE FROM usage_record WHERE ctid = ANY(ARRAY(SELECT ctid FROM usage_record WHERE at < \(before) LIMIT 5000))
                    """).metadata.rows ?? 0
            }
            removed += count
            if count < 5000 { return removed }
        }
    }
}
