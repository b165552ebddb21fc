import Foundation
import GRDBSQLite
import Synchronization

/// `PRAGMA data_version` on a read-only SQLite connection of its own. It is asked before every
/// answer, so the common case — nothing committed since the last look — must cost nanoseconds on
/// the caller's thread, not a trip to another thread.
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

    /// The registry's change counter. When the wal-index header has not moved since the last
    /// pragma, the answer comes from memory, on the caller's thread; otherwise the pragma runs on
    /// the thread pool (it is a database call, and may wait for a lock).
    func value() async throws(RegistryError) -> Int64 {
        if let unchanged = connection.withLock({ open in Self.header(of: open).same ? open.version : nil }) {
            return unchanged
        }
        let result: Int64?
        do {
            result = try await Blocking.run { self.pragma() }
        } catch {
            throw RegistryError(.storage, "registry \(path): the change counter cannot be read: \(error)")
        }
        guard let result else { throw RegistryError(.storage, "registry \(path): the change counter cannot be read") }
        return result
    }

    /// The current header bytes, and whether they are those seen before the last pragma.
    private static func header(of open: Connection) -> (bytes: Header, same: Bool) {
        var now: Header = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        guard let walIndex = open.walIndex else { return (now, false) }
        withUnsafeMutableBytes(of: &now) { _ = memcpy($0.baseAddress!, walIndex, headerBytes) }
        atomicMemoryFence(ordering: .acquiring)
        let same = withUnsafeBytes(of: &now) { memcmp($0.baseAddress!, open.seen, headerBytes) == 0 }
        return (now, same)
    }

    /// Runs the pragma, remembering the header bytes read just before it.
    private func pragma() -> Int64? {
        connection.withLock { open in
            var (now, same) = Self.header(of: open)
            if same, let version = open.version { return version }  // another caller ran it meanwhile
            open.pragmas += 1
            open.version = Self.step(open.statement)
            if open.walIndex != nil {
                withUnsafeBytes(of: &now) { _ = memcpy(open.seen, $0.baseAddress!, Self.headerBytes) }
            }
            return open.version
        }
    }

    private typealias Header = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

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
