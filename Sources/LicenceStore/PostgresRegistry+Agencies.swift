import Foundation
import NIOCore
import PostgresNIO

extension PostgresRegistry {
    public func addAgency(_ agency: Agency, keyHash: [UInt8]) async throws(RegistryError) {
        let grants: String
        do { grants = try JSONText.encode(agency.grants) } catch { throw RegistryError(.invalid, "grants cannot be encoded: \(error)") }
        let inserted = try await database.transaction { session in
            let inserted = try await session.rows("""
                INSERT INTO agency (name, code, key_hash, grants, created_at)
                VALUES (\(agency.name), \(agency.code), \(ByteBuffer(bytes: keyHash)), \(grants), \(agency.createdAt))
                ON CONFLICT DO NOTHING RETURNING id
                """).count == 1
            if inserted { try await Self.notify(session, "agency") }
            return inserted
        }
        guard inserted else { throw RegistryError(.conflict, "agency \(agency.code) already exists") }
        noteCommit()
    }

    static let agencyColumns = "code, name, grants, created_at, revoked_at"

    static func agency(from row: PostgresRow) throws -> Agency {
        let (code, name, grants, createdAt, revokedAt) = try row.decode((String, String, String, Int64, Int64?).self)
        return Agency(code: code, name: name, grants: try JSONText.decode([String].self, grants), createdAt: createdAt,
                      revokedAt: revokedAt)
    }

    public func agencies() async throws(RegistryError) -> [Agency] {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.agencyColumns) FROM agency ORDER BY code").map(Self.agency(from:))
        }
    }

    public func revokeAgency(code: String, now: Int64) async throws(RegistryError) -> Agency {
        let revoked = try await database.transaction { session in
            guard let row = try await session.rows("SELECT \(unescaped: Self.agencyColumns) FROM agency WHERE code = \(code) FOR UPDATE")
                .first else {
                throw RegistryError(.notFound, "no agency \(code); `elicence agencies list` shows them")
            }
            var agency = try Self.agency(from: row)
            guard agency.revokedAt == nil else { throw RegistryError(.conflict, "agency \(code) is already revoked") }
            try await session.execute("UPDATE agency SET revoked_at = \(now) WHERE code = \(code)")
            try await Self.notify(session, "agency")
            agency.revokedAt = now
            return agency
        }
        noteCommit()
        return revoked
    }

    public func agency(keyHash: [UInt8]) async throws(RegistryError) -> Agency? {
        try await database.withSession { session in
            try await session.rows("""
                SELECT \(unescaped: Self.agencyColumns) FROM agency WHERE key_hash = \(ByteBuffer(bytes: keyHash)) AND revoked_at IS NULL
                """).first.map(Self.agency(from:))
        }
    }

    public func activeAgencies() async throws(RegistryError) -> [(keyHash: [UInt8], agency: Agency)] {
        let rows = try await database.withSession { session in
            try await session.rows("SELECT key_hash, \(unescaped: Self.agencyColumns) FROM agency WHERE revoked_at IS NULL").map { row in
                let (hash, code, name, grants, createdAt, revokedAt) =
                    try row.decode((ByteBuffer, String, String, String, Int64, Int64?).self)
                return (Array(hash.readableBytesView),
                        Agency(code: code, name: name, grants: try JSONText.decode([String].self, grants), createdAt: createdAt,
                               revokedAt: revokedAt))
            }
        }
        return rows.map { (keyHash: $0.0, agency: $0.1) }
    }

    /// Usage records are not announced: servers do not keep them in memory.
    public func recordUsage(_ records: [UsageRecord]) async throws(RegistryError) {
        guard !records.isEmpty else { return }
        try await database.transaction { session in
            try await session.execute("""
                INSERT INTO usage_record (agency_id, licence_id, action, cause, outcome, at, authority, authority_name)
                SELECT a.id, CASE WHEN u.has_licence THEN u.licence_id END, u.action, CASE WHEN u.has_cause THEN u.cause END,
                       u.outcome, u.at, CASE WHEN u.has_authority THEN u.authority END,
                       CASE WHEN u.has_authority THEN u.authority_name END
                FROM unnest(\(records.map(\.agency))::text[], \(records.map { $0.licence ?? "" })::text[],
                            \(records.map { $0.licence != nil })::bool[], \(records.map(\.action.rawValue))::text[],
                            \(records.map { $0.cause ?? "" })::text[], \(records.map { $0.cause != nil })::bool[],
                            \(records.map(\.outcome))::text[], \(records.map(\.at))::bigint[],
                            \(records.map { $0.authority ?? "" })::text[], \(records.map { $0.authorityName ?? "" })::text[],
                            \(records.map { $0.authority != nil })::bool[]) WITH ORDINALITY
                  AS u(agency, licence_id, has_licence, action, cause, has_cause, outcome, at, authority, authority_name,
                       has_authority, n)
                LEFT JOIN agency a ON a.code = u.agency
                ORDER BY u.n
                """)
        }
    }

    public func usage(licenceID: String?, agencyCode: String?, limit: Int) async throws(RegistryError) -> [UsageRecord] {
        try await database.withSession { session in
            try await session.rows("""
                SELECT a.code, u.licence_id, u.action, u.cause, u.outcome, u.at, u.authority, u.authority_name FROM usage_record u
                JOIN agency a ON a.id = u.agency_id
                WHERE (\(licenceID)::text IS NULL OR u.licence_id = \(licenceID)) AND (\(agencyCode)::text IS NULL OR a.code = \(agencyCode))
                ORDER BY u.at DESC, u.id DESC LIMIT \(Int64(limit))
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
                SELECT a.code, a.name, COUNT(*) AS n FROM usage_record u JOIN agency a ON a.id = u.agency_id
                WHERE u.at >= \(since) GROUP BY a.id ORDER BY n DESC, a.code
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            let perType = try await session.rows("""
                SELECT l.type_code, MIN(l.type_name), COUNT(*) AS n FROM usage_record u JOIN licence l ON l.id = u.licence_id
                WHERE u.at >= \(since) GROUP BY l.type_code ORDER BY n DESC, l.type_code
                """).map { row in
                let (code, name, count) = try row.decode((String, String, Int64).self)
                return UsageStatistics.Count(code: code, name: name, count: Int(count))
            }
            let perAuthority = try await session.rows("""
                SELECT authority, COALESCE(MIN(authority_name), ''), COUNT(*) AS n FROM usage_record
                WHERE at >= \(since) AND authority IS NOT NULL GROUP BY authority ORDER BY n DESC, authority
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
                    DELETE FROM usage_record WHERE id IN (SELECT id FROM usage_record WHERE at < \(before) LIMIT 5000)
                    """).metadata.rows ?? 0
            }
            removed += count
            if count < 5000 { return removed }
        }
    }
}
