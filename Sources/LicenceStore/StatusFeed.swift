import Foundation
import Synchronization
import GRDB
import LicenceCore

/// A status list's place in the registry.
public struct StatusListInfo: Sendable, Hashable {
    public var number: Int64
    public var uri: String
    public var size: Int
}

/// The status of the licence in one status-list slot.
public struct SlotStatus: Sendable {
    public var list: Int64
    public var index: Int
    public var status: LicenceStatus
    public var licenceID: String
}

/// What a server needs to keep every licence's status in memory and exact: a full load, the
/// changes after a position, and a cheap test of whether anything changed at all.
public protocol StatusFeed: Sendable {
    /// Every list and every slot in use; returns the position to ask for changes after.
    func load(lists: (StatusListInfo) -> Void, slots: (SlotStatus) -> Void) throws(RegistryError) -> Int64
    /// Lists and slot statuses changed after `position` (issuances and status changes), and the new position.
    func changes(after position: Int64, lists: (StatusListInfo) -> Void, slots: (SlotStatus) -> Void) throws(RegistryError) -> Int64
    /// A number that changes whenever another connection, in this process or another, commits. Cheap
    /// enough to read before every answer.
    func changeCounter() throws(RegistryError) -> Int64
}

/// The SQLite feed: positions are `status_event` sequence numbers (every issuance and status change
/// appends one), and `PRAGMA data_version` on a connection of its own tells whether any other
/// connection, in this process or another, has committed.
public final class SQLiteStatusFeed: StatusFeed {
    private let registry: SQLiteRegistry
    private let watcher: DatabaseQueue

    public init(registry: SQLiteRegistry) throws(RegistryError) {
        self.registry = registry
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do { watcher = try DatabaseQueue(path: registry.path, configuration: configuration) } catch {
            throw RegistryError(.invalid, "cannot open the registry at \(registry.path): \(SQLiteRegistry.describe(error))")
        }
    }

    public func changeCounter() throws(RegistryError) -> Int64 {
        try registry.access {
            try watcher.inDatabase { db in try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0 }
        }
    }

    public func load(lists: (StatusListInfo) -> Void, slots: (SlotStatus) -> Void) throws(RegistryError) -> Int64 {
        try registry.access {
            try registry.pool.read { db in
                let position = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM status_event") ?? 0
                for row in try Row.fetchAll(db, sql: "SELECT id, uri, size FROM status_list ORDER BY id") {
                    lists(StatusListInfo(number: row["id"], uri: row["uri"], size: row["size"]))
                }
                let cursor = try Row.fetchCursor(db, sql: "SELECT status_list, status_index, status, id FROM licence")
                while let row = try cursor.next() {
                    slots(SlotStatus(list: row[0], index: row[1], status: LicenceStatus(rawValue: row[2]) ?? .revoked,
                                     licenceID: row[3]))
                }
                return position
            }
        }
    }

    public func changes(after position: Int64, lists: (StatusListInfo) -> Void,
                        slots: (SlotStatus) -> Void) throws(RegistryError) -> Int64 {
        try registry.access {
            try registry.pool.read { db in
                var latest = position
                let cursor = try Row.fetchCursor(db.cachedStatement(sql: """
                    SELECT e.seq, l.status_list, l.status_index, l.status, l.id FROM status_event e
                    JOIN licence l ON l.id = e.licence_id WHERE e.seq > ? ORDER BY e.seq
                    """), arguments: [position])
                var listsSeen = Set<Int64>()
                while let row = try cursor.next() {
                    latest = row[0]
                    let list: Int64 = row[1]
                    if listsSeen.insert(list).inserted,
                       let info = try Row.fetchOne(db, sql: "SELECT id, uri, size FROM status_list WHERE id = ?", arguments: [list]) {
                        lists(StatusListInfo(number: info["id"], uri: info["uri"], size: info["size"]))
                    }
                    slots(SlotStatus(list: list, index: row[2], status: LicenceStatus(rawValue: row[3]) ?? .revoked, licenceID: row[4]))
                }
                return latest
            }
        }
    }
}
