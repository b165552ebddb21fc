import GRDB
import LicenceCore

/// The SQLite feed: positions are `status_event` sequence numbers (every issuance and status change
/// appends one), and `PRAGMA data_version` on a connection of its own (``DataVersionWatcher``) tells
/// whether any other connection, in this process or another, has committed.
final class SQLiteStatusFeed: StatusFeed {
    private let registry: SQLiteRegistry
    let watcher: DataVersionWatcher

    init(registry: SQLiteRegistry, watcher: DataVersionWatcher) {
        self.registry = registry
        self.watcher = watcher
    }

    func changeCounter() async throws(RegistryError) -> Int64 {
        try await watcher.value()
    }

    func position() async throws(RegistryError) -> Int64 {
        try await registry.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM status_event") ?? 0 }
    }

    func lists() async throws(RegistryError) -> [StatusListInfo] {
        try await registry.read { db in
            try Row.fetchAll(db, sql: "SELECT id, uri, size FROM status_list ORDER BY id").map(Self.info(from:))
        }
    }

    /// In rowid order, the page starting after the rowid `start` names.
    func slots(from start: String?, limit: Int) async throws(RegistryError) -> SlotPage {
        let after = start.flatMap { Int64($0) } ?? 0
        return try await registry.read { db in
            var slots: [SlotStatus] = []
            slots.reserveCapacity(limit)
            var last = after
            let cursor = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT rowid, status_list, status_index, status, id, log_index FROM licence WHERE rowid > ? ORDER BY rowid LIMIT ?
                """), arguments: [after, limit])
            while let row = try cursor.next() {
                last = row[0]
                slots.append(Self.slot(from: row, offset: 1))
            }
            return SlotPage(slots: slots, next: slots.count < limit ? nil : String(last))
        }
    }

    func changes(after position: Int64) async throws(RegistryError) -> StatusChanges {
        try await registry.read { db in
            var changes = StatusChanges(lists: [], slots: [], position: position)
            let cursor = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT e.seq, l.status_list, l.status_index, l.status, l.id, l.log_index FROM status_event e
                JOIN licence l ON l.id = e.licence_id WHERE e.seq > ? ORDER BY e.seq
                """), arguments: [position])
            var listsSeen = Set<Int64>()
            while let row = try cursor.next() {
                changes.position = row[0]
                let slot = Self.slot(from: row, offset: 1)
                if listsSeen.insert(slot.list).inserted,
                   let info = try Row.fetchOne(db, sql: "SELECT id, uri, size FROM status_list WHERE id = ?", arguments: [slot.list]) {
                    changes.lists.append(Self.info(from: info))
                }
                changes.slots.append(slot)
            }
            return changes
        }
    }

    private static func info(from row: Row) -> StatusListInfo {
        StatusListInfo(number: row["id"], uri: row["uri"], size: row["size"])
    }

    /// A slot from the columns status_list, status_index, status, id, log_index starting at `offset`.
    private static func slot(from row: Row, offset: Int) -> SlotStatus {
        SlotStatus(list: row[offset], index: row[offset + 1], status: LicenceStatus(rawValue: row[offset + 2]) ?? .revoked,
                   licenceID: row[offset + 3], logIndex: row[offset + 4])
    }
}
