import PostgresNIO

/// Registry settings (the `setting` table) on PostgreSQL.
extension PostgresRegistry {
    public func setting(_ setting: RegistrySetting) async throws(RegistryError) -> String? {
        try await database.withSession { session in
            try await session.scalar("SELECT value FROM setting WHERE name = \(setting.rawValue)", as: String.self)
        }
    }

    public func setSetting(_ setting: RegistrySetting, to value: String?, now: Int64) async throws(RegistryError) {
        try await database.transaction { session in
            if let value {
                try await session.execute("""
                    INSERT INTO setting (name, value, updated_at) VALUES (\(setting.rawValue), \(value), \(now))
                    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
                    """)
            } else {
                try await session.execute("DELETE FROM setting WHERE name = \(setting.rawValue)")
            }
        }
    }
}
