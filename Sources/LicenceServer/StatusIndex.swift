import LicenceCore
import LicenceStore
import Logging
import Synchronization

/// Every licence's status in memory, 2 bits per slot, with a 64-bit fingerprint of the licence in each
/// slot so that a token is matched to its own slot. Before each answer the index asks the feed whether
/// anything was committed since it last looked; if so it applies the changes first. On SQLite that is
/// a look at the write-ahead log's index header, so an acknowledged revocation is reported by the
/// very next verification; on PostgreSQL it is a counter moved by `NOTIFY`, so every server reports
/// it within a second.
///
/// The lock guards memory only: the registry is read with no lock held, by one refresh at a time,
/// which every request that needs it awaits.
final class StatusIndex: Sendable {
    private struct Slots {
        var uri: String
        var statuses: StatusList
        /// FNV-1a of the identifier of the licence in each slot; 0 for an empty slot.
        var fingerprints: [UInt64]
        /// 1 + the index of each licence's issuance leaf in the transparency log; 0 when unknown.
        var logIndexes: [UInt32]
    }

    private struct State {
        /// The change counter the index is exact for; `.min` before the first load.
        var counter: Int64 = .min
        var lists: [Int64: Slots] = [:]
        var byURI: [String: Int64] = [:]
        var position: Int64 = 0
        var licences = 0
        var feed: (any StatusFeed)?
        /// The refresh under way, if any.
        var refreshing: Task<Bool, Never>?
    }

    /// Licences read from the registry a page at start.
    static let pageSize = 50_000
    private let registry: any LicenceRegistry
    private let logger: Logger
    private let state = Mutex(State())

    init(registry: any LicenceRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Reads every list and licence, a page at a time; the server answers only after this.
    func load() async throws(RegistryError) {
        let feed = try await registry.makeStatusFeed()
        var loaded = State()
        loaded.feed = feed
        // Counter, then position, then lists and pages: whatever commits meanwhile is read again
        // as a change, and applying a licence's current status twice is harmless.
        loaded.counter = try await feed.changeCounter()
        loaded.position = try await feed.position()
        for info in try await feed.lists() { Self.add(info, to: &loaded) }
        var start: String?
        repeat {
            let page = try await feed.slots(from: start, limit: Self.pageSize)
            for slot in page.slots { Self.apply(slot, to: &loaded) }
            start = page.next
        } while start != nil
        let (licences, lists) = (loaded.licences, loaded.lists.count)
        state.withLock { $0 = loaded }
        logger.info("status index loaded", metadata: ["licences": "\(licences)", "lists": "\(lists)"])
    }

    var licenceCount: Int { state.withLock { $0.licences } }

    /// The registry's change counter (see ``StatusFeed/changeCounter()``).
    func changeCounter() async throws(RegistryError) -> Int64 {
        guard let feed = state.withLock({ $0.feed }) else { throw RegistryError(.storage, "the status index is not loaded yet") }
        return try await feed.changeCounter()
    }

    private static func add(_ info: StatusListInfo, to state: inout State) {
        state.byURI[info.uri] = info.number
        if state.lists[info.number] == nil {
            state.lists[info.number] = Slots(uri: info.uri, statuses: StatusList(count: info.size),
                                             fingerprints: [UInt64](repeating: 0, count: info.size),
                                             logIndexes: [UInt32](repeating: 0, count: info.size))
        }
    }

    private static func apply(_ slot: SlotStatus, to state: inout State) {
        guard var slots = state.lists[slot.list], slot.index >= 0, slot.index < slots.fingerprints.count else { return }
        state.lists[slot.list] = nil  // keep the arrays uniquely referenced while they change
        if slots.fingerprints[slot.index] == 0 { state.licences += 1 }
        slots.fingerprints[slot.index] = fingerprint(slot.licenceID)
        slots.statuses[slot.index] = slot.status.listValue
        slots.logIndexes[slot.index] = slot.logIndex.flatMap { $0 >= 0 && $0 < Int64(UInt32.max) ? UInt32($0 + 1) : nil } ?? 0
        state.lists[slot.list] = slots
    }

    static func fingerprint(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash == 0 ? 1 : hash
    }

    /// Applies what the registry committed up to change counter `counter` (read now when not given).
    /// Returns false when the registry cannot be read (the answer is then `status_unavailable`,
    /// never a stale one).
    private func refresh(counter known: Int64?) async -> Bool {
        let counter: Int64
        do {
            if let known { counter = known } else { counter = try await changeCounter() }
        } catch {
            logger.error("the registry's change counter cannot be read", metadata: ["error": "\(error)"])
            return false
        }
        while true {
            let refreshing = state.withLock { state -> Task<Bool, Never>? in
                if state.counter >= counter { return nil }
                if let task = state.refreshing { return task }
                let task = Task { await self.readChanges() }
                state.refreshing = task
                return task
            }
            guard let refreshing else { return true }
            // A refresh that started before this request read its counter may not cover it: loop.
            guard await refreshing.value else { return false }
        }
    }

    /// One refresh: the counter, then the changes after the last position, applied under the lock.
    private func readChanges() async -> Bool {
        do {
            let (feed, position) = state.withLock { ($0.feed, $0.position) }
            guard let feed else { throw RegistryError(.storage, "the status index is not loaded yet") }
            // Read the counter before the changes: a commit between the two is seen next time.
            let counter = try await feed.changeCounter()
            let changes = try await feed.changes(after: position)
            state.withLock { state in
                for info in changes.lists { Self.add(info, to: &state) }
                for slot in changes.slots { Self.apply(slot, to: &state) }
                state.position = max(state.position, changes.position)
                state.counter = max(state.counter, counter)
                state.refreshing = nil
            }
            return true
        } catch {
            state.withLock { $0.refreshing = nil }
            logger.error("status changes cannot be read", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// A source that has applied every change committed before this call, and answers from memory
    /// without looking again: one look for a request, or for a whole batch, all of whose tokens
    /// arrived before it. `counter`, when given, is the registry's change counter read after the
    /// request arrived.
    func refreshedOnce(counter: Int64? = nil) async -> any StatusSource {
        Refreshed(index: self, available: await refresh(counter: counter))
    }

    private struct Refreshed: StatusSource {
        let index: StatusIndex
        let available: Bool

        func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer {
            available ? index.lookup(claims) : .unavailable(BilingualMessage(zh: "暂时无法读取登记库。", en: "the registry cannot be read"))
        }
    }

    /// The index of the licence's issuance leaf in the transparency log, when the index holds it.
    func logIndex(of claims: LicenceClaims) -> Int64? {
        guard let reference = claims.status else { return nil }
        let fingerprint = Self.fingerprint(claims.identifier.description)
        return state.withLock { state -> Int64? in
            guard let number = state.byURI[reference.uri], let slots = state.lists[number],
                  reference.index < UInt64(slots.fingerprints.count) else { return nil }
            let index = Int(reference.index)
            guard slots.fingerprints[index] == fingerprint, slots.logIndexes[index] > 0 else { return nil }
            return Int64(slots.logIndexes[index]) - 1
        }
    }

    private func lookup(_ claims: LicenceClaims) -> LicenceStatusAnswer {
        guard let reference = claims.status else { return .unknownLicence }
        let fingerprint = Self.fingerprint(claims.identifier.description)
        return state.withLock { state in
            guard let number = state.byURI[reference.uri], let slots = state.lists[number],
                  reference.index < UInt64(slots.fingerprints.count) else { return .unknownLicence }
            let index = Int(reference.index)
            guard slots.fingerprints[index] == fingerprint else { return .unknownLicence }
            switch LicenceStatus(listValue: slots.statuses[index]) {
            case .valid?: return .valid
            case .suspended?: return .suspended
            case .revoked?: return .revoked
            case .superseded?, nil: return .superseded
            }
        }
    }
}
