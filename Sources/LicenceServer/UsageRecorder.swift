import Foundation
import LicenceCore
import LicenceStore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Collects usage records and writes them in batches twice a second, on a fixed schedule, so that a
/// verification does not wait for a disk write; a crash can lose at most the last second of records. It also deletes
/// records older than the retention period, at start and every hour. On shutdown it writes what is left.
final class UsageRecorder: Service, Sendable {
    /// Most records held while the database cannot take them; past it the oldest are dropped (and counted).
    static let maxPending = 200_000
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
    func flush() async -> Bool {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return true }
        do {
            try await registry.recordUsage(batch)
            return true
        } catch {
            logger.error("usage records could not be written; keeping them for the next attempt", metadata: ["error": "\(error)"])
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
            return false
        }
    }

    func purge() async {
        let cutoff = Int64(Date().timeIntervalSince1970) - Int64(retentionDays) * 86_400
        do {
            let removed = try await registry.purgeUsage(before: cutoff)
            if removed > 0 { logger.info("usage records past retention deleted", metadata: ["count": "\(removed)"]) }
        } catch {
            logger.error("usage records could not be purged", metadata: ["error": "\(error)"])
        }
    }

    func run() async throws {
        await purge()
        var ticks = 0
        var next = ContinuousClock.now
        // Runs until graceful shutdown, then writes what is left. The schedule is fixed (every
        // 500 ms from the start), so a slow write does not push the next one back.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            next = max(next + .milliseconds(500), ContinuousClock.now)
            try? await Task.sleep(until: next, clock: .continuous)
            await flush()
            ticks += 1
            if ticks % 7200 == 0 { await purge() }
        }
        for attempt in 1...5 {
            if await flush() { return }
            logger.error("final write of usage records failed", metadata: ["attempt": "\(attempt)", "pending": "\(backlog)"])
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
