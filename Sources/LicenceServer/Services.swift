import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore
import Logging
import ServiceLifecycle
import Synchronization

/// Collects usage records and writes them in batches once a second, so that a verification does not
/// wait for a disk write; a crash can lose at most the last second of records. It also deletes
/// records older than the retention period, at start and every hour. On shutdown it writes what is left.
final class UsageRecorder: Service, Sendable {
    private let registry: any AgencyRegistry
    private let retentionDays: Int
    private let logger: Logger
    private let pending = Mutex<[UsageRecord]>([])

    init(registry: any AgencyRegistry, retentionDays: Int, logger: Logger) {
        self.registry = registry
        self.retentionDays = retentionDays
        self.logger = logger
    }

    func record(_ record: UsageRecord) {
        pending.withLock { $0.append(record) }
    }

    func record(_ records: [UsageRecord]) {
        pending.withLock { $0.append(contentsOf: records) }
    }

    /// Writes every pending record now.
    func flush() {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try registry.recordUsage(batch)
        } catch {
            logger.error("usage records could not be written; keeping them for the next attempt", metadata: ["error": "\(error)"])
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
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

    func run() async throws {
        purge()
        var ticks = 0
        // Runs until graceful shutdown, then writes what is left.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            flush()
            ticks += 1
            if ticks % 3600 == 0 { purge() }
        }
        flush()
    }
}

/// The trust list of the key directory, reloaded when the file changes (a key retired or declared
/// compromised with the command line takes effect without a restart).
final class TrustSource: Sendable {
    private let keys: KeyStore
    private let logger: Logger
    private struct Loaded {
        var modified: Date?
        var checked: ContinuousClock.Instant
        var list: TrustList
        var document: TrustListDocument
    }
    private let state: Mutex<Loaded>

    init(keys: KeyStore, logger: Logger) throws {
        self.keys = keys
        self.logger = logger
        let document = try keys.loadDocument()
        state = Mutex(Loaded(modified: Self.modified(keys.trustListPath), checked: .now,
                             list: try KeyStore.trustList(from: document, source: keys.trustListPath), document: document))
    }

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// The current list; the file's modification time is looked at no more than once a second.
    var current: (list: TrustList, document: TrustListDocument) {
        state.withLock { loaded in
            let now = ContinuousClock.now
            if now - loaded.checked >= .seconds(1) {
                loaded.checked = now
                let modified = Self.modified(keys.trustListPath)
                if modified != loaded.modified {
                    do {
                        let document = try keys.loadDocument()
                        loaded.list = try KeyStore.trustList(from: document, source: keys.trustListPath)
                        loaded.document = document
                        loaded.modified = modified
                        logger.info("trust list reloaded", metadata: ["keys": "\(document.keys.count)"])
                    } catch {
                        logger.error("trust list changed but cannot be read; keeping the previous one", metadata: ["error": "\(error)"])
                    }
                }
            }
            return (loaded.list, loaded.document)
        }
    }
}

/// Online status: every answer reads the registry's latest committed state, so a status change the
/// command line has acknowledged is reported by the next verification.
struct RegistryStatusSource: StatusSource {
    let registry: any LicenceRegistry

    func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer {
        do {
            switch try registry.status(id: claims.identifier.description) {
            case nil: return .unknownLicence
            case .valid?: return .valid
            case .suspended?: return .suspended
            case .revoked?: return .revoked
            case .superseded?: return .superseded
            }
        } catch {
            return .unavailable("the registry cannot be read")
        }
    }
}
