import Foundation
import GRDB
import GRDBSQLite
import LicenceCore

extension SQLiteRegistry {
    public func addAgency(_ agency: Agency, keyHash: [UInt8]) async throws(RegistryError) {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM agency WHERE code = ?", arguments: [agency.code]) == true {
                throw RegistryError(.conflict, "agency \(agency.code) already exists")
            }
            try db.execute(sql: "INSERT INTO agency (name, code, key_hash, grants, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [agency.name, agency.code, Data(keyHash), try JSONText.encode(agency.grants), agency.createdAt])
        }
    }

    public func agencies() async throws(RegistryError) -> [Agency] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM agency ORDER BY code").map(Self.agency(from:)) }
    }

    public func revokeAgency(code: String, now: Int64) async throws(RegistryError) -> Agency {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agency WHERE code = ?", arguments: [code]) else {
                throw RegistryError(.notFound, "no agency \(code); `elicence agencies list` shows them")
            }
            var agency = try Self.agency(from: row)
            guard agency.revokedAt == nil else { throw RegistryError(.conflict, "agency \(code) is already revoked") }
            try db.execute(sql: "UPDATE agency SET revoked_at = ? WHERE code = ?", arguments: [now, code])
            agency.revokedAt = now
            return agency
        }
    }

    public func agency(keyHash: [UInt8]) async throws(RegistryError) -> Agency? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM agency WHERE key_hash = ? AND revoked_at IS NULL"),
                             arguments: [Data(keyHash)]).map(Self.agency(from:))
        }
    }

    public func activeAgencies() async throws(RegistryError) -> [(keyHash: [UInt8], agency: Agency)] {
        let rows = try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agency WHERE revoked_at IS NULL").map { row in
                ([UInt8](row["key_hash"] as Data), try Self.agency(from: row))
            }
        }
        return rows.map { (keyHash: $0.0, agency: $0.1) }
    }

    static func agency(from row: Row) throws -> Agency {
        Agency(code: row["code"], name: row["name"], grants: try JSONText.decode([String].self, row["grants"]),
               createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }
}
