import Foundation
import GRDB

/// The SQLite schema and its migrations.
enum SQLiteSchema {
    /// Migrations are never edited once shipped; changes come as new migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE licence_type (
                    code TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('enterprise', 'citizen')),
                    sharing TEXT NOT NULL CHECK (sharing IN ('unconditional', 'conditional', 'none')),
                    fields TEXT NOT NULL,
                    disclosed TEXT NOT NULL,
                    validity_years INTEGER,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE status_list (
                    id INTEGER PRIMARY KEY,
                    uri TEXT NOT NULL UNIQUE,
                    base_url TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    used INTEGER NOT NULL DEFAULT 0,
                    seed BLOB NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE licence (
                    id TEXT PRIMARY KEY,
                    issuer_code TEXT NOT NULL,
                    number TEXT NOT NULL,
                    version INTEGER NOT NULL,
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
                    content_hash BLOB NOT NULL,
                    signed BLOB NOT NULL,
                    kid TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'superseded')),
                    status_list INTEGER NOT NULL REFERENCES status_list(id),
                    status_index INTEGER NOT NULL,
                    issued_at INTEGER NOT NULL,
                    superseded_by TEXT,
                    UNIQUE (status_list, status_index)
                );
                -- Issuer + number identify a licence; only superseded versions may repeat them.
                CREATE UNIQUE INDEX licence_current ON licence(issuer_code, number) WHERE status != 'superseded';
                CREATE INDEX licence_holder ON licence(holder_code);
                CREATE INDEX licence_type_status ON licence(type_code, status);
                CREATE TABLE status_event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    licence_id TEXT NOT NULL REFERENCES licence(id),
                    status TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                CREATE INDEX status_event_licence ON status_event(licence_id, seq);
                CREATE TABLE agency (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    code TEXT,
                    key_hash BLOB NOT NULL UNIQUE,
                    grants TEXT NOT NULL DEFAULT '[]',
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE usage_record (
                    id INTEGER PRIMARY KEY,
                    agency_id INTEGER REFERENCES agency(id),
                    licence_id TEXT,
                    action TEXT NOT NULL,
                    cause TEXT,
                    outcome TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                CREATE INDEX usage_record_licence ON usage_record(licence_id, at);
                CREATE INDEX usage_record_at ON usage_record(at);
                """)
        }
        migrator.registerMigration("v2: agency codes") { db in
            try db.execute(sql: """
                CREATE UNIQUE INDEX agency_code ON agency(code);
                CREATE INDEX usage_record_agency ON usage_record(agency_id, at);
                """)
        }
        migrator.registerMigration("v3: settings") { db in
            try db.execute(sql: """
                CREATE TABLE setting (
                    name TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4: transparency log") { db in
            try db.execute(sql: """
                CREATE TABLE log_entry (
                    idx INTEGER PRIMARY KEY,
                    data BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE TABLE log_hash (
                    level INTEGER NOT NULL,
                    idx INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (level, idx)
                ) WITHOUT ROWID;
                CREATE TABLE log_checkpoint (
                    size INTEGER PRIMARY KEY,
                    root BLOB NOT NULL,
                    note TEXT NOT NULL,
                    signed_at INTEGER NOT NULL
                );
                ALTER TABLE licence ADD COLUMN log_index INTEGER;
                ALTER TABLE status_event ADD COLUMN log_index INTEGER;
                CREATE UNIQUE INDEX status_event_log ON status_event(log_index);
                """)
            // A registry made before the log: every event it holds, in order, becomes a leaf.
            try SQLiteRegistry.backfillLog(db)
        }
        migrator.registerMigration("v5: holders' wallets and service windows") { db in
            try db.execute(sql: """
                CREATE TABLE holder_invite (
                    code_hash BLOB PRIMARY KEY,
                    holder_code TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER,
                    device_id TEXT
                );
                CREATE TABLE holder_device (
                    id TEXT PRIMARY KEY,
                    holder_code TEXT NOT NULL,
                    public_key BLOB NOT NULL,
                    label TEXT NOT NULL,
                    enrolled_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE INDEX holder_device_holder ON holder_device(holder_code);
                CREATE TABLE one_time_value (
                    value BLOB PRIMARY KEY,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX one_time_value_expiry ON one_time_value(expires_at);
                CREATE TABLE window_credential (
                    id INTEGER PRIMARY KEY,
                    agency_code TEXT NOT NULL,
                    label TEXT NOT NULL,
                    hash BLOB NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE window_session (
                    hash BLOB PRIMARY KEY,
                    credential INTEGER NOT NULL REFERENCES window_credential(id),
                    csrf TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                ALTER TABLE licence ADD COLUMN id_hash BLOB;
                """)
            let ids = try String.fetchAll(db, sql: "SELECT id FROM licence")
            let update = try db.makeStatement(sql: "UPDATE licence SET id_hash = ? WHERE id = ?")
            for id in ids { try update.execute(arguments: [Data(LicenceIDHash.of(id)), id]) }
            try db.execute(sql: "CREATE INDEX licence_id_hash ON licence(id_hash)")
        }
        migrator.registerMigration("v6: usage of other authorities' licences") { db in
            try db.execute(sql: """
                ALTER TABLE usage_record ADD COLUMN authority TEXT;
                ALTER TABLE usage_record ADD COLUMN authority_name TEXT;
                """)
        }
        migrator.registerMigration("v7: compact usage records") { db in
            try SQLiteRegistry.compactUsageRecords(db)
        }
        migrator.registerMigration("v8: holder names by index") { db in
            // Issuance looks up a holder code's names; this index finds each by one seek (and serves
            // every lookup by holder code, as the index it replaces did).
            try db.execute(sql: """
                CREATE INDEX licence_holder_name ON licence(holder_code, holder_name, issued_at);
                DROP INDEX licence_holder;
                """)
        }
        return migrator
    }
}
