import Foundation
import LicenceCore
import LicenceCrypto
import Logging
import NIOPosix
import Synchronization

/// The trust list of the key directory, reloaded when the file changes: a key retired or declared
/// compromised with the command line takes effect from the next request, without a restart. The
/// file is read on NIO's thread pool, never on a request's thread.
final class TrustSource: Sendable {
    private let keys: KeyStore
    private let logger: Logger
    private struct Loaded {
        var file: FileIdentity?
        var list: TrustList
        var document: TrustListDocument
        /// A version of the file that could not be read, and when it was last tried.
        var failed: (file: FileIdentity, at: ContinuousClock.Instant)?
        /// The reload under way, which requests that find the file changed wait for.
        var reload: (file: FileIdentity, task: Task<Void, Never>)?
    }
    private let state: Mutex<Loaded>

    /// Reads the key directory's trust list.
    static func load(keys: KeyStore, logger: Logger) async throws -> TrustSource {
        let (file, document, list) = try await NIOThreadPool.singleton.runIfActive {
            let file = FileIdentity(path: keys.trustListPath)
            let document = try keys.loadDocument()
            return (file, document, try KeyStore.trustList(from: document, source: keys.trustListPath))
        }
        return TrustSource(keys: keys, logger: logger, loaded: Loaded(file: file, list: list, document: document))
    }

    private init(keys: KeyStore, logger: Logger, loaded: Loaded) {
        self.keys = keys
        self.logger = logger
        state = Mutex(loaded)
    }

    /// The current list. Every call looks at the file (one `stat`, about a microsecond): the command
    /// line replaces it by renaming a new file over it, so any change shows as a new identity. A
    /// changed file is read and checked once while the requests that found it wait, then swapped in.
    /// A version that cannot be read is tried again each second, and reported once.
    func current() async -> (list: TrustList, document: TrustListDocument) {
        let file = FileIdentity(path: keys.trustListPath)
        let (list, document, known) = state.withLock { ($0.list, $0.document, $0.file) }
        guard file != known, let file else { return (list, document) }
        let now = ContinuousClock.now
        let reload = state.withLock { loaded -> Task<Void, Never>? in
            if loaded.file == file { return nil }
            if let failed = loaded.failed, failed.file == file, now - failed.at < .seconds(1) { return nil }
            if let reload = loaded.reload, reload.file == file { return reload.task }
            let task = Task { await self.reload(file) }
            loaded.reload = (file, task)
            return task
        }
        await reload?.value
        return state.withLock { ($0.list, $0.document) }
    }

    private func reload(_ file: FileIdentity) async {
        let keys = self.keys
        do {
            let (document, list) = try await NIOThreadPool.singleton.runIfActive {
                let document = try keys.loadDocument()
                return (document, try KeyStore.trustList(from: document, source: keys.trustListPath))
            }
            state.withLock { loaded in
                loaded.list = list
                loaded.document = document
                loaded.file = file
                loaded.failed = nil
                loaded.reload = nil
            }
            logger.info("trust list reloaded", metadata: ["keys": "\(document.keys.count)"])
        } catch {
            let reported = state.withLock { loaded -> Bool in
                defer {
                    loaded.failed = (file, ContinuousClock.now)
                    loaded.reload = nil
                }
                return loaded.failed?.file == file
            }
            if !reported {
                logger.error("trust list changed but cannot be read; keeping the previous one", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// What tells one version of a file from another: device, inode, size and modification time.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}
