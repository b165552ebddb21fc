import Foundation
import GRDB
import LicenceCore

extension SQLiteRegistry {
    public func addInvite(_ invite: HolderInvite) async throws(RegistryError) {
        try await write { db in
            try db.execute(sql: "INSERT INTO holder_invite (code_hash, holder_code, created_at, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [Data(invite.codeHash), invite.holderCode, invite.createdAt, invite.expiresAt])
        }
    }

    public func enrol(codeHash: [UInt8], device: HolderDevice, now: Int64) async throws(RegistryError) -> Enrolment {
        try await write { db in
            guard let invite = try Row.fetchOne(db, sql: "SELECT * FROM holder_invite WHERE code_hash = ?", arguments: [Data(codeHash)]) else {
                return .unknownCode
            }
            if (invite["used_at"] as Int64?) != nil { return .usedCode }
            if (invite["expires_at"] as Int64) <= now { return .expiredCode }
            var enrolled = device
            enrolled.holderCode = invite["holder_code"]
            enrolled.enrolledAt = now
            // A key enrolled again (a new code on the same phone) takes the new holder and is active again.
            try db.execute(sql: """
                INSERT INTO holder_device (id, holder_code, public_key, label, enrolled_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET holder_code = excluded.holder_code, label = excluded.label,
                    enrolled_at = excluded.enrolled_at, revoked_at = NULL
                """, arguments: [enrolled.id, enrolled.holderCode, Data(enrolled.publicKey), enrolled.label, now])
            try db.execute(sql: "UPDATE holder_invite SET used_at = ?, device_id = ? WHERE code_hash = ?",
                           arguments: [now, enrolled.id, Data(codeHash)])
            return .enrolled(enrolled)
        }
    }

    static func device(from row: Row) -> HolderDevice {
        HolderDevice(id: row["id"], holderCode: row["holder_code"], publicKey: [UInt8](row["public_key"] as Data), label: row["label"],
                     enrolledAt: row["enrolled_at"], revokedAt: row["revoked_at"])
    }

    public func device(id: String) async throws(RegistryError) -> HolderDevice? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM holder_device WHERE id = ?"), arguments: [id]).map(Self.device(from:))
        }
    }

    public func devices(holderCode: String) async throws(RegistryError) -> [HolderDevice] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM holder_device WHERE holder_code = ? ORDER BY enrolled_at", arguments: [holderCode])
                .map(Self.device(from:))
        }
    }

    public func revokeDevice(id: String, now: Int64) async throws(RegistryError) -> HolderDevice {
        try await write { db in
            guard var device = try Row.fetchOne(db, sql: "SELECT * FROM holder_device WHERE id = ?", arguments: [id]).map(Self.device(from:)) else {
                throw RegistryError(.notFound, "no device \(id); `elicence holders devices --holder-code CODE` lists a holder's devices")
            }
            guard device.revokedAt == nil else { throw RegistryError(.conflict, "device \(id) is already removed") }
            try db.execute(sql: "UPDATE holder_device SET revoked_at = ? WHERE id = ?", arguments: [now, id])
            device.revokedAt = now
            return device
        }
    }

    public func useOnce(_ value: [UInt8], expires: Int64, now: Int64) async throws(RegistryError) -> Bool {
        try await write { db in
            try db.execute(sql: """
                DELETE FROM one_time_value WHERE value IN (SELECT value FROM one_time_value WHERE expires_at < ? LIMIT 100)
                """, arguments: [now])
            try db.execute(sql: "INSERT INTO one_time_value (value, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           arguments: [Data(value), expires])
            return db.changesCount == 1
        }
    }

    public func licence(idHash: [UInt8]) async throws(RegistryError) -> StoredLicence? {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM licence WHERE id_hash = ?"), arguments: [Data(idHash)])
                .map(Self.stored(from:)).first
        }
    }

    public func holderUsage(holderCode: String, limit: Int) async throws(RegistryError) -> [HolderUsageRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: Self.usageBuckets + "\n" + """
                SELECT l.id AS licence_id, l.type_name, a.name AS agency, ac.text AS action, c.text AS cause, oc.text AS outcome, u.at
                FROM licence l JOIN bucket JOIN usage_record u ON (u.id >> \(Self.usageBucketBits)) = bucket.n
                    AND u.status_list = l.status_list AND u.status_index = l.status_index
                LEFT JOIN agency a ON a.id = u.agency_id JOIN usage_text ac ON ac.id = u.action
                LEFT JOIN usage_text c ON c.id = u.cause JOIN usage_text oc ON oc.id = u.outcome
                WHERE l.holder_code = ? ORDER BY u.id DESC LIMIT ?
                """, arguments: [holderCode, limit]).map { row in
                HolderUsageRecord(licence: row["licence_id"], typeName: row["type_name"], agency: row["agency"],
                                  action: UsageRecord.Action(rawValue: row["action"]) ?? .read, cause: row["cause"],
                                  outcome: row["outcome"], at: row["at"])
            }
        }
    }

    // MARK: Windows

    static func credential(from row: Row) -> WindowCredential {
        WindowCredential(id: row["id"], agencyCode: row["agency_code"], label: row["label"], createdAt: row["created_at"],
                         revokedAt: row["revoked_at"])
    }

    public func addWindowCredential(agencyCode: String, label: String, hash: [UInt8], now: Int64) async throws(RegistryError) -> WindowCredential {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM agency WHERE code = ? AND revoked_at IS NULL", arguments: [agencyCode]) == true else {
                throw RegistryError(.notFound, "no active agency \(agencyCode); `elicence agencies list` shows them")
            }
            try db.execute(sql: "INSERT INTO window_credential (agency_code, label, hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [agencyCode, label, Data(hash), now])
            return WindowCredential(id: db.lastInsertedRowID, agencyCode: agencyCode, label: label, createdAt: now, revokedAt: nil)
        }
    }

    public func windowCredentials(agencyCode: String?) async throws(RegistryError) -> [WindowCredential] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM window_credential WHERE ? IS NULL OR agency_code = ? ORDER BY id",
                             arguments: [agencyCode, agencyCode]).map(Self.credential(from:))
        }
    }

    public func revokeWindowCredential(id: Int64, now: Int64) async throws(RegistryError) -> WindowCredential {
        try await write { db in
            guard var credential = try Row.fetchOne(db, sql: "SELECT * FROM window_credential WHERE id = ?", arguments: [id])
                .map(Self.credential(from:)) else {
                throw RegistryError(.notFound, "no window credential \(id); `elicence windows list` shows them")
            }
            guard credential.revokedAt == nil else { throw RegistryError(.conflict, "window credential \(id) is already revoked") }
            try db.execute(sql: "UPDATE window_credential SET revoked_at = ? WHERE id = ?", arguments: [now, id])
            try db.execute(sql: "DELETE FROM window_session WHERE credential = ?", arguments: [id])
            credential.revokedAt = now
            return credential
        }
    }

    public func windowCredential(hash: [UInt8]) async throws(RegistryError) -> WindowCredential? {
        try await read { db in
            try Row.fetchOne(db, sql: """
                SELECT c.* FROM window_credential c JOIN agency a ON a.code = c.agency_code
                WHERE c.hash = ? AND c.revoked_at IS NULL AND a.revoked_at IS NULL
                """, arguments: [Data(hash)]).map(Self.credential(from:))
        }
    }

    public func addWindowSession(hash: [UInt8], session: WindowSession) async throws(RegistryError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM window_session WHERE expires_at < ?", arguments: [session.expiresAt - 86_400 * 30])
            try db.execute(sql: "INSERT INTO window_session (hash, credential, csrf, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [Data(hash), session.credential, session.csrfToken, session.expiresAt])
        }
    }

    public func windowSession(hash: [UInt8], now: Int64) async throws(RegistryError) -> WindowSession? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT c.agency_code, s.credential, s.csrf, s.expires_at FROM window_session s
                JOIN window_credential c ON c.id = s.credential JOIN agency a ON a.code = c.agency_code
                WHERE s.hash = ? AND s.expires_at > ? AND c.revoked_at IS NULL AND a.revoked_at IS NULL
                """), arguments: [Data(hash), now]).map { row in
                WindowSession(agencyCode: row[0], credential: row[1], csrfToken: row[2], expiresAt: row[3])
            }
        }
    }

    public func endWindowSession(hash: [UInt8]) async throws(RegistryError) {
        try await write { db in try db.execute(sql: "DELETE FROM window_session WHERE hash = ?", arguments: [Data(hash)]) }
    }
}
