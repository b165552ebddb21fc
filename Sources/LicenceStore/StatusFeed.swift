import Foundation
import Synchronization
import GRDB
import GRDBSQLite
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
    private let watcher: DataVersionWatcher

    public init(registry: SQLiteRegistry) throws(RegistryError) {
        self.registry = registry
        watcher = try DataVersionWatcher(path: registry.path)
    }

    public func changeCounter() throws(RegistryError) -> Int64 {
        try watcher.value()
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

/// `PRAGMA data_version` on a read-only SQLite connection of its own, called directly: it is asked
/// before every answer, so it must cost microseconds, not a trip through a dispatch queue.
///
/// In WAL mode a cheaper test comes first. Every commit, by any connection in any process, rewrites
/// the wal-index header: the first 96 bytes of the `-shm` file (two copies of a 48-byte header
/// holding a change counter, the last frame, salts and checksums; https://www.sqlite.org/walformat.html).
/// The watcher reads those bytes through SQLite's own mapping of the file, and asks the pragma only
/// when they differ from the bytes it saw before its last pragma. A commit that has returned has
/// already rewritten the header, so the answer stays exact; a read torn by a commit in progress
/// only costs one pragma more.
final class DataVersionWatcher: Sendable {
    /// The connection and its prepared statement, used only under the lock.
    private struct Connection {
        let database: OpaquePointer
        let statement: OpaquePointer
        /// SQLite's mapping of the wal-index's first page; nil when the registry is not in WAL mode.
        var walIndex: UnsafeRawPointer?
        /// The header bytes read just before the last pragma, and what the pragma said.
        let seen: UnsafeMutableRawPointer = {
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: DataVersionWatcher.headerBytes, alignment: 8)
            bytes.initializeMemory(as: UInt8.self, repeating: 0, count: DataVersionWatcher.headerBytes)
            return bytes
        }()
        var version: Int64?
        /// How many times the pragma ran, for tests of the cheap path.
        var pragmas = 0
    }

    /// Both copies of the wal-index header.
    static let headerBytes = 96

    private let connection: Mutex<Connection>
    private let path: String

    init(path: String) throws(RegistryError) {
        self.path = path
        var database: OpaquePointer?
        var statement: OpaquePointer?
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let database,
              sqlite3_prepare_v2(database, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK, let statement else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(database)
            throw RegistryError(.invalid, "cannot open the registry at \(path): \(message)")
        }
        sqlite3_busy_timeout(database, 10_000)
        var open = Connection(database: database, statement: statement)
        open.walIndex = Self.walIndex(of: database)
        connection = Mutex(open)
    }

    deinit {
        connection.withLock { open in
            sqlite3_finalize(open.statement)
            sqlite3_close(open.database)
            open.seen.deallocate()
        }
    }

    func value() throws(RegistryError) -> Int64 {
        let result: Int64? = connection.withLock { open in
            guard let walIndex = open.walIndex else {
                open.pragmas += 1
                return Self.step(open.statement)
            }
            var now = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                       UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &now) { _ = memcpy($0.baseAddress!, walIndex, Self.headerBytes) }
            atomicMemoryFence(ordering: .acquiring)
            let same = withUnsafeBytes(of: &now) { memcmp($0.baseAddress!, open.seen, Self.headerBytes) == 0 }
            if same, let version = open.version { return version }
            open.pragmas += 1
            open.version = Self.step(open.statement)
            withUnsafeBytes(of: &now) { _ = memcpy(open.seen, $0.baseAddress!, Self.headerBytes) }
            return open.version
        }
        guard let result else { throw RegistryError(.storage, "registry \(path): the change counter cannot be read") }
        return result
    }

    /// Whether the wal-index header is read before the pragma.
    var readsWALIndex: Bool { connection.withLock { $0.walIndex != nil } }

    /// How many times `PRAGMA data_version` has run.
    var pragmas: Int { connection.withLock { $0.pragmas } }

    private static func step(_ statement: OpaquePointer) -> Int64? {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return sqlite3_column_int64(statement, 0)
    }

    /// SQLite's own mapping of the first wal-index page, through the VFS (version 2 methods), once a
    /// read has opened it; nil for a registry not in WAL mode, where the pragma alone is used.
    private static func walIndex(of database: OpaquePointer) -> UnsafeRawPointer? {
        var mode: OpaquePointer?
        guard sqlite3_prepare_v2(database, "PRAGMA journal_mode", -1, &mode, nil) == SQLITE_OK, let mode else { return nil }
        defer { sqlite3_finalize(mode) }
        guard sqlite3_step(mode) == SQLITE_ROW, let text = sqlite3_column_text(mode, 0),
              String(cString: text) == "wal" else { return nil }
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(database, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK,
              let file, let methods = file.pointee.pMethods, methods.pointee.iVersion >= 2,
              let map = methods.pointee.xShmMap else { return nil }
        var pointer: UnsafeMutableRawPointer?
        let status = map(file, 0, 32 * 1024, 0, &pointer)
        guard status == SQLITE_OK, let pointer else { return nil }
        return UnsafeRawPointer(pointer)
    }
}
