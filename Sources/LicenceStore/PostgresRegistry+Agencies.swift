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
}
