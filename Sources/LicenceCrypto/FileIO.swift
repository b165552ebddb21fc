#if canImport(Glibc)
import Glibc
#endif

/// A failed file operation, with a message that names the file.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The failure is a file that others can read, not a missing or broken one.
    public var isPermission: Bool = false
    public var description: String { message }
}

/// Durable file writes and careful reads, on POSIX calls (modes are set at creation, never after).
public enum FileIO {
    public static func read(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(message: "cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(message: "cannot read \(path): \(errnoText())")
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
            if out.count > limit { throw FileError(message: "\(path) is larger than \(limit) bytes") }
        }
        return out
    }

    /// Fails unless `path` is a regular file that only its owner can read or write.
    public static func checkPrivate(_ path: String) throws(FileError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileError(message: "cannot open \(path): \(errnoText())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileError(message: "\(path) is not a regular file") }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw FileError(message: "private key \(path) can be read by group or others (mode \(String(mode, radix: 8))); "
                + "restrict it with: chmod 600 \(path)", isPermission: true)
        }
    }

    public static func createDirectory(_ path: String, mode: mode_t) throws(FileError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw FileError(message: "\(path) exists and is not a directory") }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path, !parent.isEmpty { try createDirectory(parent, mode: 0o755) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else {
            throw FileError(message: "cannot create directory \(path): \(errnoText())")
        }
    }

    /// Creates a new file with `mode` (failing if it exists), writes and syncs it.
    public static func createExclusive(_ bytes: [UInt8], at path: String, mode: mode_t) throws(FileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(message: "cannot create \(path): \(errnoText())") }
        do throws(FileError) {
            try writeAll(fd, bytes, path: path)
            guard fsync(fd) == 0 else { throw FileError(message: "cannot sync \(path): \(errnoText())") }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
        syncDirectory(of: path)
    }

    /// Replaces `path` with `bytes` so that a reader sees the old or the new file, never a mix, and
    /// the new one survives a crash once this returns.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws(FileError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(message: "cannot write \(path): \(errnoText())") }
        do throws(FileError) {
            try writeAll(fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw FileError(message: "cannot sync \(temporary): \(errnoText())") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw FileError(message: "cannot replace \(path): \(errnoText())")
        }
        syncDirectory(of: path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(message: "cannot write \(path): \(errnoText())")
            }
            offset += n
        }
    }

    private static func syncDirectory(of path: String) {
        let fd = open(parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
