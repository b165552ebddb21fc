import GRDB

/// Registry settings (the `setting` table) on SQLite.
extension SQLiteRegistry {
    public func setting(_ setting: RegistrySetting) async throws(RegistryError) -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = ?", arguments: [setting.rawValue])
        }
    }

    public func setSetting(_ setting: RegistrySetting, to value: String?, now: Int64) async throws(RegistryError) {
        try await write { db in
            if let value {
                try db.execute(sql: """
                    INSERT INTO setting (name, value, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """, arguments: [setting.rawValue, value, now])
            } else {
                try db.execute(sql: "DELETE FROM setting WHERE name = ?", arguments: [setting.rawValue])
            }
        }
    }
}
