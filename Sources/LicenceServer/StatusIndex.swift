import LicenceCore
import LicenceStore
import Logging
import Synchronization

/// Every licence's status in memory, 2 bits per slot, with a 64-bit fingerprint of the licence in each
/// slot so that a token is matched to its own slot. Before each answer the index asks the feed whether
/// anything was committed since it last looked; if so it applies the changes first. On SQLite that is
/// one `PRAGMA data_version`, so an acknowledged revocation is reported by the very next verification;
/// on PostgreSQL it is a counter moved by `NOTIFY`, so every server reports it within a second.
final class StatusIndex: Sendable {
    private struct Slots {
        var uri: String
        var statuses: StatusList
        /// FNV-1a of the identifier of the licence in each slot; 0 for an empty slot.
        var fingerprints: [UInt64]
    }

    private struct State {
        var counter: Int64 = -1
        var lists: [Int64: Slots] = [:]
        var byURI: [String: Int64] = [:]
        var position: Int64 = 0
        var licences = 0
    }

    private let feed: any StatusFeed
    private let logger: Logger
    private let state = Mutex(State())

    init(feed: any StatusFeed, logger: Logger) throws(RegistryError) {
        self.feed = feed
        self.logger = logger
        var loaded = State()
        loaded.counter = try feed.changeCounter()
        loaded.position = try feed.load(lists: { Self.add($0, to: &loaded) }, slots: { Self.apply($0, to: &loaded) })
        state.withLock { $0 = loaded }
        logger.info("status index loaded", metadata: ["licences": "\(loaded.licences)", "lists": "\(loaded.lists.count)"])
    }

    var licenceCount: Int { state.withLock { $0.licences } }

    private static func add(_ info: StatusListInfo, to state: inout State) {
        state.byURI[info.uri] = info.number
        if state.lists[info.number] == nil {
            state.lists[info.number] = Slots(uri: info.uri, statuses: StatusList(count: info.size),
                                             fingerprints: [UInt64](repeating: 0, count: info.size))
        }
    }

    private static func apply(_ slot: SlotStatus, to state: inout State) {
        guard var slots = state.lists[slot.list], slot.index >= 0, slot.index < slots.fingerprints.count else { return }
        state.lists[slot.list] = nil  // keep the arrays uniquely referenced while they change
        if slots.fingerprints[slot.index] == 0 { state.licences += 1 }
        slots.fingerprints[slot.index] = fingerprint(slot.licenceID)
        slots.statuses[slot.index] = slot.status.listValue
        state.lists[slot.list] = slots
    }

    static func fingerprint(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash == 0 ? 1 : hash
    }

    /// Applies what the registry committed since the last look. Returns false when the registry
    /// cannot be read (the answer is then `status_unavailable`, never a stale one).
    private func refresh(counter known: Int64? = nil) -> Bool {
        do {
            let counter = try known ?? feed.changeCounter()
            guard counter != state.withLock({ $0.counter }) else { return true }
            try state.withLock { state throws(RegistryError) in
                guard state.counter != counter else { return }
                // Read the counter before the changes: a commit between the two is seen next time.
                state.position = try feed.changes(after: state.position, lists: { Self.add($0, to: &state) },
                                                  slots: { Self.apply($0, to: &state) })
                state.counter = counter
            }
            return true
        } catch {
            logger.error("status changes cannot be read", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// A source that has applied every change committed before this call, and answers from memory
    /// without looking again: one look for a request, or for a whole batch, all of whose tokens
    /// arrived before it. `counter`, when given, is the registry's change counter read after the
    /// request arrived.
    func refreshedOnce(counter: Int64? = nil) -> any StatusSource {
        Refreshed(index: self, available: refresh(counter: counter))
    }

    private struct Refreshed: StatusSource {
        let index: StatusIndex
        let available: Bool

        func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer {
            available ? index.lookup(claims) : .unavailable("the registry cannot be read")
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
