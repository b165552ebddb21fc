import Dispatch
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Collects usage records and writes them in batches twice a second, on a fixed schedule, so that a
/// verification does not wait for a disk write; a crash can lose at most the last second of records. It also deletes
/// records older than the retention period, at start and every hour. Writes run on a queue of their
/// own, never on the threads that answer requests. On shutdown it writes what is left.
final class UsageRecorder: Service, Sendable {
    /// Most records held while the database cannot take them; past it the oldest are dropped (and counted).
    static let maxPending = 200_000
    private let registry: any AgencyRegistry
    private let retentionDays: Int
    private let logger: Logger
    private let pending = Mutex<[UsageRecord]>([])
    private let writes = DispatchQueue(label: "elicence.usage-records")

    init(registry: any AgencyRegistry, retentionDays: Int, logger: Logger) {
        self.registry = registry
        self.retentionDays = retentionDays
        self.logger = logger
    }

    func record(_ record: UsageRecord) {
        self.record([record])
    }

    func record(_ records: [UsageRecord]) {
        let dropped = pending.withLock { pending -> Int in
            pending.append(contentsOf: records)
            let excess = pending.count - Self.maxPending
            guard excess > 0 else { return 0 }
            pending.removeFirst(excess)
            return excess
        }
        if dropped > 0 {
            Counter(label: "elicence_usage_records_dropped_total").increment(by: dropped)
            logger.error("usage records dropped: the registry has not taken them", metadata: ["dropped": "\(dropped)"])
        }
    }

    /// Records not yet written for one licence (newest last).
    func pendingRecords(licence: String) -> [UsageRecord] {
        pending.withLock { $0.filter { $0.licence == licence } }
    }

    var backlog: Int { pending.withLock { $0.count } }

    /// Writes every pending record; returns false when the registry refused them (they are kept).
    @discardableResult
    func flush() -> Bool {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return true }
        do {
            try registry.recordUsage(batch)
            return true
        } catch {
            logger.error("usage records could not be written; keeping them for the next attempt", metadata: ["error": "\(error)"])
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
            return false
        }
    }

    func purge() {
        let cutoff = Int64(Date().timeIntervalSince1970) - Int64(retentionDays) * 86_400
        do {
            let removed = try registry.purgeUsage(before: cutoff)
            if removed > 0 { logger.info("usage records past retention deleted", metadata: ["count": "\(removed)"]) }
        } catch {
            logger.error("usage records could not be purged", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `work` on the write queue.
    private func onWriteQueue<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            writes.async { continuation.resume(returning: work()) }
        }
    }

    func run() async throws {
        await onWriteQueue { self.purge() }
        var ticks = 0
        var next = ContinuousClock.now
        // Runs until graceful shutdown, then writes what is left. The schedule is fixed (every
        // 500 ms from the start), so a slow write does not push the next one back.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            next = max(next + .milliseconds(500), ContinuousClock.now)
            try? await Task.sleep(until: next, clock: .continuous)
            _ = await onWriteQueue { self.flush() }
            ticks += 1
            if ticks % 7200 == 0 { await onWriteQueue { self.purge() } }
        }
        for attempt in 1...5 {
            if await onWriteQueue({ self.flush() }) { return }
            logger.error("final write of usage records failed", metadata: ["attempt": "\(attempt)", "pending": "\(backlog)"])
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}

/// The trust list of the key directory, reloaded when the file changes: a key retired or declared
/// compromised with the command line takes effect from the next request, without a restart.
final class TrustSource: Sendable {
    private let keys: KeyStore
    private let logger: Logger
    private struct Loaded {
        var file: FileIdentity?
        var list: TrustList
        var document: TrustListDocument
        /// A version of the file that could not be read, and when it was last tried.
        var failed: (file: FileIdentity, at: ContinuousClock.Instant)?
    }
    private let state: Mutex<Loaded>
    /// One reload at a time; requests that find the file changed wait for it rather than answer
    /// from the list the file no longer holds.
    private let reloading = Mutex(())

    init(keys: KeyStore, logger: Logger) throws {
        self.keys = keys
        self.logger = logger
        let file = FileIdentity(path: keys.trustListPath)
        let document = try keys.loadDocument()
        state = Mutex(Loaded(file: file, list: try KeyStore.trustList(from: document, source: keys.trustListPath),
                             document: document))
    }

    /// The current list. Every call looks at the file (one `stat`, about a microsecond): the command
    /// line replaces it by renaming a new file over it, so any change shows as a new identity. A
    /// changed file is read and checked by one request while the others wait, then swapped in. A
    /// version that cannot be read is tried again each second, and reported once.
    var current: (list: TrustList, document: TrustListDocument) {
        let file = FileIdentity(path: keys.trustListPath)
        let snapshot = state.withLock { ($0.list, $0.document, $0.file) }
        guard file != snapshot.2, let file else { return (snapshot.0, snapshot.1) }
        return reloading.withLock { _ in
            let latest = state.withLock { ($0.list, $0.document, $0.file, $0.failed) }
            if latest.2 == file { return (latest.0, latest.1) }  // loaded while this request waited
            let now = ContinuousClock.now
            if let failed = latest.3, failed.file == file, now - failed.at < .seconds(1) { return (latest.0, latest.1) }
            do {
                let document = try keys.loadDocument()
                let list = try KeyStore.trustList(from: document, source: keys.trustListPath)
                state.withLock { loaded in
                    loaded.list = list
                    loaded.document = document
                    loaded.file = file
                    loaded.failed = nil
                }
                logger.info("trust list reloaded", metadata: ["keys": "\(document.keys.count)"])
                return (list, document)
            } catch {
                state.withLock { $0.failed = (file, now) }
                if latest.3?.file != file {
                    logger.error("trust list changed but cannot be read; keeping the previous one",
                                 metadata: ["error": "\(error)"])
                }
                return (latest.0, latest.1)
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
