import PostgresNIO

/// The PostgreSQL schema and its migrations, recorded in `schema_migrations`. Migrations are never
/// edited once shipped; changes come as new migrations. They run in one transaction under an advisory
/// lock, so several hosts starting at once migrate once.
enum PostgresSchema {
    struct Migration {
        var version: Int64
        var name: String
        var statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "registry", statements: [
            """
            CREATE TABLE licence_type (
                code TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                holder_kind TEXT NOT NULL CHECK (holder_kind IN ('enterprise', 'citizen')),
                sharing TEXT NOT NULL CHECK (sharing IN ('unconditional', 'conditional', 'none')),
                fields TEXT NOT NULL,
                disclosed TEXT NOT NULL,
                validity_years BIGINT,
                created_at BIGINT NOT NULL
            )
            """,
            // `used` counts reserved slots: a reservation whose batch failed leaves its slots unused.
            """
            CREATE TABLE status_list (
                id BIGINT PRIMARY KEY,
                uri TEXT NOT NULL UNIQUE,
                base_url TEXT NOT NULL,
                size BIGINT NOT NULL,
                used BIGINT NOT NULL DEFAULT 0 CHECK (used <= size),
                seed BYTEA NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX status_list_open ON status_list(base_url, id) WHERE used < size",
            """
            CREATE TABLE licence (
                id TEXT PRIMARY KEY,
                issuer_code TEXT NOT NULL,
                number TEXT NOT NULL,
                version BIGINT NOT NULL,
                type_code TEXT NOT NULL REFERENCES licence_type(code),
                type_name TEXT NOT NULL,
                holder_name TEXT NOT NULL,
                holder_code TEXT NOT NULL,
                holder_code_type TEXT NOT NULL,
                issuer_name TEXT NOT NULL,
                valid_from TEXT NOT NULL,
                valid_until TEXT,
                related_matter TEXT,
                fields TEXT NOT NULL,
                content_hash BYTEA NOT NULL,
                signed BYTEA NOT NULL,
                kid TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'superseded')),
                status_list BIGINT NOT NULL REFERENCES status_list(id),
                status_index BIGINT NOT NULL,
                issued_at BIGINT NOT NULL,
                superseded_by TEXT,
                UNIQUE (status_list, status_index)
            )
            """,
            // Issuer + number identify a licence; only superseded versions may repeat them.
            "CREATE UNIQUE INDEX licence_current ON licence(issuer_code, number) WHERE status <> 'superseded'",
            "CREATE INDEX licence_holder ON licence(holder_code)",
            "CREATE INDEX licence_type_status ON licence(type_code, status)",
            "CREATE INDEX licence_issued ON licence(issued_at, id)",
            """
            CREATE TABLE status_event (
                seq BIGSERIAL PRIMARY KEY,
                licence_id TEXT NOT NULL REFERENCES licence(id),
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                actor TEXT NOT NULL,
                at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX status_event_licence ON status_event(licence_id, seq)",
            """
            CREATE TABLE agency (
                id BIGSERIAL PRIMARY KEY,
                name TEXT NOT NULL,
                code TEXT NOT NULL UNIQUE,
                key_hash BYTEA NOT NULL UNIQUE,
                grants TEXT NOT NULL DEFAULT '[]',
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
            """
            CREATE TABLE usage_record (
                id BIGSERIAL PRIMARY KEY,
                agency_id BIGINT REFERENCES agency(id),
                licence_id TEXT,
                action TEXT NOT NULL,
                cause TEXT,
                outcome TEXT NOT NULL,
                at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX usage_record_licence ON usage_record(licence_id, at)",
            "CREATE INDEX usage_record_at ON usage_record(at)",
            "CREATE INDEX usage_record_agency ON usage_record(agency_id, at)",
        ]),
    ]

    static var latestVersion: Int64 { migrations.last?.version ?? 0 }

    /// Brings the schema up to date. Without `create`, a database with no registry in it is refused.
    static func migrate(_ connections: PostgresConnections, create: Bool) throws(RegistryError) {
        let location = connections.location
        let exists = try connections.withConnection { session in
            try session.scalar("SELECT to_regclass('schema_migrations') IS NOT NULL", as: Bool.self) ?? false
        }
        if !exists && !create {
            throw RegistryError(.invalid, "no registry in \(location); give --database URL, or create one with `elicence types add`")
        }
        let applied = try connections.withConnection { session in
            exists ? try session.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", as: Int64.self) ?? 0 : 0
        }
        if applied > latestVersion {
            throw RegistryError(.invalid, "the registry in \(location) has schema version \(applied); this elicence knows "
                + "versions up to \(latestVersion): upgrade elicence")
        }
        guard applied < latestVersion else { return }
        try connections.transaction { session in
            try session.execute("SELECT pg_advisory_xact_lock(\(PostgresRegistry.Lock.migrations.rawValue))")
            try session.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            // Another host may have migrated while this one waited for the lock.
            let current = try session.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", as: Int64.self) ?? 0
            for migration in migrations where migration.version > current {
                for statement in migration.statements { try session.execute(PostgresQuery(unsafeSQL: statement)) }
                try session.execute("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
            }
        }
    }
}
