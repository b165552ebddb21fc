import NIOCore
import PostgresNIO

/// The PostgreSQL schema and its migrations, recorded in `schema_migrations`. Migrations are never
/// edited once shipped; changes come as new migrations. They run in one transaction under an advisory
/// lock, so several hosts starting at once migrate once.
enum PostgresSchema {
    struct Migration: Sendable {
        var version: Int64
        var name: String
        var statements: [String]
        /// Work in Swift after the statements, in the same transaction (data the SQL cannot make).
        var then: (@Sendable (PostgresSession) async throws -> Void)? = nil
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
        Migration(version: 2, name: "settings", statements: [
            """
            CREATE TABLE setting (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
        ]),
        Migration(version: 3, name: "transparency log", statements: [
            "CREATE TABLE log_entry (idx BIGINT PRIMARY KEY, data BYTEA NOT NULL, hash BYTEA NOT NULL)",
            "CREATE TABLE log_hash (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx))",
            "CREATE TABLE log_checkpoint (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL, signed_at BIGINT NOT NULL)",
            "ALTER TABLE licence ADD COLUMN log_index BIGINT",
            "ALTER TABLE status_event ADD COLUMN log_index BIGINT UNIQUE",
        ], then: { session in
            // A registry made before the log: every event it holds, in order, becomes a leaf.
            try await PostgresRegistry.backfillLog(session)
        }),
        Migration(version: 4, name: "holders' wallets and service windows", statements: [
            """
            CREATE TABLE holder_invite (code_hash BYTEA PRIMARY KEY, holder_code TEXT NOT NULL, created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL, used_at BIGINT, device_id TEXT)
            """,
            """
            CREATE TABLE holder_device (id TEXT PRIMARY KEY, holder_code TEXT NOT NULL, public_key BYTEA NOT NULL, label TEXT NOT NULL,
                enrolled_at BIGINT NOT NULL, revoked_at BIGINT)
            """,
            "CREATE INDEX holder_device_holder ON holder_device(holder_code)",
            "CREATE TABLE one_time_value (value BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL)",
            "CREATE INDEX one_time_value_expiry ON one_time_value(expires_at)",
            """
            CREATE TABLE window_credential (id BIGSERIAL PRIMARY KEY, agency_code TEXT NOT NULL REFERENCES agency(code),
                label TEXT NOT NULL, hash BYTEA NOT NULL UNIQUE, created_at BIGINT NOT NULL, revoked_at BIGINT)
            """,
            """
            CREATE TABLE window_session (hash BYTEA PRIMARY KEY, credential BIGINT NOT NULL REFERENCES window_credential(id),
                csrf TEXT NOT NULL, expires_at BIGINT NOT NULL)
            """,
            "ALTER TABLE licence ADD COLUMN id_hash BYTEA",
        ], then: { session in
            // Licences issued before: the hash presentation codes name them by.
            var after = ""
            while true {
                let ids = try await session.rows("SELECT id FROM licence WHERE id > \(after) ORDER BY id LIMIT 5000").map { try $0.decode(String.self) }
                guard let last = ids.last else { break }
                try await session.execute("""
                    UPDATE licence SET id_hash = u.hash FROM unnest(\(ids)::text[], \(ids.map { ByteBuffer(bytes: LicenceIDHash.of($0)) })::bytea[])
                      AS u(id, hash) WHERE licence.id = u.id
                    """)
                after = last
            }
            try await session.execute("CREATE INDEX licence_id_hash ON licence(id_hash)")
        }),
        Migration(version: 5, name: "usage of other authorities' licences", statements: [
            "ALTER TABLE usage_record ADD COLUMN authority TEXT",
            "ALTER TABLE usage_record ADD COLUMN authority_name TEXT",
        ]),
        Migration(version: 6, name: "compact usage records", statements: PostgresRegistry.compactUsageRecords),
        // Issuance looks up a holder code's names; this index finds each by one seek (and serves every
        // lookup by holder code, as the index it replaces did).
        Migration(version: 7, name: "holder names by index", statements: [
            "CREATE INDEX licence_holder_name ON licence(holder_code, holder_name, issued_at)",
            "DROP INDEX licence_holder",
        ]),
        Migration(version: 8, name: "usage records in batches", statements: PostgresRegistry.batchUsageRecords),
    ]

    static var latestVersion: Int64 { migrations.last?.version ?? 0 }

    /// Brings the schema up to date, on a connection of its own, so that an unreachable database or
    /// a refused password is reported at once. Without `create`, a database with no registry in it
    /// is refused.
    static func migrate(_ database: PostgresDatabase, create: Bool) async throws(RegistryError) {
        let connection = try await database.connect()
        let session = PostgresSession(connection: connection, logger: database.logger)
        do {
            try await migrate(session, location: database.location, create: create)
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw PostgresDatabase.registryError(error, location: database.location)
        }
    }

    private static func migrate(_ session: PostgresSession, location: PostgresLocation, create: Bool) async throws {
        let exists = try await session.scalar("SELECT to_regclass('schema_migrations') IS NOT NULL", as: Bool.self) ?? false
        if !exists && !create {
            throw RegistryError(.invalid, "no registry in \(location); give --database URL, or create one with `elicence types add`")
        }
        let applied = exists ? try await session.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", as: Int64.self) ?? 0 : 0
        if applied > latestVersion {
            throw RegistryError(.invalid, "the registry in \(location) has schema version \(applied); this elicence knows "
                + "versions up to \(latestVersion): upgrade elicence")
        }
        guard applied < latestVersion else { return }
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await session.transaction { session in
                    try await session.execute("SELECT pg_advisory_xact_lock(\(PostgresRegistry.Lock.migrations.rawValue))")
                    try await session.execute("""
                        CREATE TABLE IF NOT EXISTS schema_migrations (
                            version BIGINT PRIMARY KEY,
                            name TEXT NOT NULL,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                        )
                        """)
                    // Another host may have migrated while this one waited for the lock.
                    let current = try await session.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", as: Int64.self) ?? 0
                    for migration in migrations where migration.version > current {
                        for statement in migration.statements { try await session.execute(PostgresQuery(unsafeSQL: statement)) }
                        try await migration.then?(session)
                        try await session.execute("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                    }
                }
                return
            } catch where attempt < 5 && ["40P01", "40001", "23505"].contains(PostgresDatabase.registryError(error, location: location).sqlState ?? "") {
                // Two hosts creating `schema_migrations` at once: the loser tries again and finds it.
                continue
            }
        }
    }
}
