import Foundation
import LicenceCore
import NIOCore
import PostgresNIO

extension PostgresRegistry {
    public func addInvite(_ invite: HolderInvite) async throws(RegistryError) {
        try await database.withSession(idempotent: false) { session in
            try await session.execute("""
                INSERT INTO holder_invite (code_hash, holder_code, created_at, expires_at)
                VALUES (\(ByteBuffer(bytes: invite.codeHash)), \(invite.holderCode), \(invite.createdAt), \(invite.expiresAt))
                """)
        }
    }

    public func enrol(codeHash: [UInt8], device: HolderDevice, now: Int64) async throws(RegistryError) -> Enrolment {
        try await database.transaction { session in
            guard let row = try await session.rows("""
                SELECT holder_code, expires_at, used_at FROM holder_invite WHERE code_hash = \(ByteBuffer(bytes: codeHash)) FOR UPDATE
                """).first else { return Enrolment.unknownCode }
            let (holder, expires, used) = try row.decode((String, Int64, Int64?).self)
            if used != nil { return .usedCode }
            if expires <= now { return .expiredCode }
            var enrolled = device
            enrolled.holderCode = holder
            enrolled.enrolledAt = now
            try await session.execute("""
                INSERT INTO holder_device (id, holder_code, public_key, label, enrolled_at)
                VALUES (\(enrolled.id), \(holder), \(ByteBuffer(bytes: enrolled.publicKey)), \(enrolled.label), \(now))
                ON CONFLICT (id) DO UPDATE SET holder_code = excluded.holder_code, label = excluded.label,
                    enrolled_at = excluded.enrolled_at, revoked_at = NULL
                """)
            try await session.execute("""
                UPDATE holder_invite SET used_at = \(now), device_id = \(enrolled.id) WHERE code_hash = \(ByteBuffer(bytes: codeHash))
                """)
            return .enrolled(enrolled)
        }
    }

    static let deviceColumns = "id, holder_code, public_key, label, enrolled_at, revoked_at"

    static func device(from row: PostgresRow) throws -> HolderDevice {
        let (id, holder, key, label, enrolledAt, revokedAt) = try row.decode((String, String, ByteBuffer, String, Int64, Int64?).self)
        return HolderDevice(id: id, holderCode: holder, publicKey: Array(key.readableBytesView), label: label, enrolledAt: enrolledAt,
                            revokedAt: revokedAt)
    }

    public func device(id: String) async throws(RegistryError) -> HolderDevice? {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.deviceColumns) FROM holder_device WHERE id = \(id)").first.map(Self.device(from:))
        }
    }

    public func devices(holderCode: String) async throws(RegistryError) -> [HolderDevice] {
        try await database.withSession { session in
            try await session.rows("""
                SELECT \(unescaped: Self.deviceColumns) FROM holder_device WHERE holder_code = \(holderCode) ORDER BY enrolled_at
                """).map(Self.device(from:))
        }
    }

    public func revokeDevice(id: String, now: Int64) async throws(RegistryError) -> HolderDevice {
        try await database.transaction { session in
            guard var device = try await session.rows("SELECT \(unescaped: Self.deviceColumns) FROM holder_device WHERE id = \(id) FOR UPDATE")
                .first.map(Self.device(from:)) else {
                throw RegistryError(.notFound, "no device \(id); `elicence holders devices --holder-code CODE` lists a holder's devices")
            }
            guard device.revokedAt == nil else { throw RegistryError(.conflict, "device \(id) is already removed") }
            try await session.execute("UPDATE holder_device SET revoked_at = \(now) WHERE id = \(id)")
            device.revokedAt = now
            return device
        }
    }

    /// One statement: the one insert that succeeds, whichever server tries it, answers true.
    public func useOnce(_ value: [UInt8], expires: Int64, now: Int64) async throws(RegistryError) -> Bool {
        try await database.withSession(idempotent: false) { session in
            try await session.execute("""
                DELETE FROM one_time_value WHERE value IN (SELECT value FROM one_time_value WHERE expires_at < \(now) LIMIT 100)
                """)
            return try await session.rows("""
                INSERT INTO one_time_value (value, expires_at) VALUES (\(ByteBuffer(bytes: value)), \(expires))
                ON CONFLICT DO NOTHING RETURNING expires_at
                """).count == 1
        }
    }

    public func licence(idHash: [UInt8]) async throws(RegistryError) -> StoredLicence? {
        try await database.withSession { session in
            try await session.rows("SELECT \(unescaped: Self.licenceColumns) FROM licence WHERE id_hash = \(ByteBuffer(bytes: idHash))")
                .first.map(Self.stored(from:))
        }
    }

    // MARK: Windows

    static let credentialColumns = "id, agency_code, label, created_at, revoked_at"

    static func credential(from row: PostgresRow) throws -> WindowCredential {
        let (id, agency, label, createdAt, revokedAt) = try row.decode((Int64, String, String, Int64, Int64?).self)
        return WindowCredential(id: id, agencyCode: agency, label: label, createdAt: createdAt, revokedAt: revokedAt)
    }

    public func addWindowCredential(agencyCode: String, label: String, hash: [UInt8], now: Int64) async throws(RegistryError) -> WindowCredential {
        try await database.transaction { session in
            guard try await session.rows("SELECT 1 FROM agency WHERE code = \(agencyCode) AND revoked_at IS NULL").first != nil else {
                throw RegistryError(.notFound, "no active agency \(agencyCode); `elicence agencies list` shows them")
            }
            let id = try await session.scalar("""
                INSERT INTO window_credential (agency_code, label, hash, created_at)
                VALUES (\(agencyCode), \(label), \(ByteBuffer(bytes: hash)), \(now)) RETURNING id
                """, as: Int64.self) ?? 0
            return WindowCredential(id: id, agencyCode: agencyCode, label: label, createdAt: now, revokedAt: nil)
        }
    }

    public func windowCredentials(agencyCode: String?) async throws(RegistryError) -> [WindowCredential] {
        try await database.withSession { session in
            try await session.rows("""
                SELECT \(unescaped: Self.credentialColumns) FROM window_credential
                WHERE \(agencyCode)::text IS NULL OR agency_code = \(agencyCode) ORDER BY id
                """).map(Self.credential(from:))
        }
    }

    public func revokeWindowCredential(id: Int64, now: Int64) async throws(RegistryError) -> WindowCredential {
        try await database.transaction { session in
            guard var credential = try await session.rows("""
                SELECT \(unescaped: Self.credentialColumns) FROM window_credential WHERE id = \(id) FOR UPDATE
                """).first.map(Self.credential(from:)) else {
                throw RegistryError(.notFound, "no window credential \(id); `elicence windows list` shows them")
            }
            guard credential.revokedAt == nil else { throw RegistryError(.conflict, "window credential \(id) is already revoked") }
            try await session.execute("UPDATE window_credential SET revoked_at = \(now) WHERE id = \(id)")
            try await session.execute("DELETE FROM window_session WHERE credential = \(id)")
            credential.revokedAt = now
            return credential
        }
    }

    public func windowCredential(hash: [UInt8]) async throws(RegistryError) -> WindowCredential? {
        try await database.withSession { session in
            try await session.rows("""
                SELECT c.id, c.agency_code, c.label, c.created_at, c.revoked_at FROM window_credential c
                JOIN agency a ON a.code = c.agency_code
                WHERE c.hash = \(ByteBuffer(bytes: hash)) AND c.revoked_at IS NULL AND a.revoked_at IS NULL
                """).first.map(Self.credential(from:))
        }
    }

    public func addWindowSession(hash: [UInt8], session window: WindowSession) async throws(RegistryError) {
        try await database.withSession(idempotent: false) { session in
            try await session.execute("DELETE FROM window_session WHERE expires_at < \(window.expiresAt - 86_400 * 30)")
            try await session.execute("""
                INSERT INTO window_session (hash, credential, csrf, expires_at)
                VALUES (\(ByteBuffer(bytes: hash)), \(window.credential), \(window.csrfToken), \(window.expiresAt))
                """)
        }
    }

    public func windowSession(hash: [UInt8], now: Int64) async throws(RegistryError) -> WindowSession? {
        try await database.withSession { session in
            guard let row = try await session.rows("""
                SELECT c.agency_code, s.credential, s.csrf, s.expires_at FROM window_session s
                JOIN window_credential c ON c.id = s.credential JOIN agency a ON a.code = c.agency_code
                WHERE s.hash = \(ByteBuffer(bytes: hash)) AND s.expires_at > \(now) AND c.revoked_at IS NULL AND a.revoked_at IS NULL
                """).first else { return nil }
            let (agency, credential, csrf, expires) = try row.decode((String, Int64, String, Int64).self)
            return WindowSession(agencyCode: agency, credential: credential, csrfToken: csrf, expiresAt: expires)
        }
    }

    public func endWindowSession(hash: [UInt8]) async throws(RegistryError) {
        try await database.withSession(idempotent: false) { session in
            try await session.execute("DELETE FROM window_session WHERE hash = \(ByteBuffer(bytes: hash))")
        }
    }
}
