import LicenceCore
import LicenceCrypto
import Logging
import Synchronization

/// Status lists of imported authorities, fetched when one of their licences is verified: only from
/// a URI under that authority's status base (a token cannot send the server anywhere else), within a
/// time and size limit, verified with that authority's status key, and kept until the list's `ttl`
/// (never past its `exp`). After the `ttl` the list is fetched again; until a fresh one arrives the
/// answer is `status_unavailable`, never a stale `valid`. A failed fetch is remembered for a few
/// seconds so that a server that does not answer is not asked again by every request.
final class ForeignStatusLists: Sendable {
    /// Used when a list has no `ttl`.
    static let defaultTTL: Int64 = 300
    /// How long a failed fetch answers for the list before it is tried again, in seconds.
    static let failureMemory: Int64 = 5

    private struct Entry {
        var list: StatusListToken
        var freshUntil: Int64
    }

    private struct State {
        var lists: [String: Entry] = [:]
        var failures: [String: (at: Int64, reason: String)] = [:]
        var fetching: [String: Task<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    private let timeout: Duration
    private let maxBytes: Int
    private let logger: Logger

    init(timeout: Duration, maxBytes: Int = StatusListToken.maxListBytes + 65_536, logger: Logger) {
        self.timeout = timeout
        self.maxBytes = maxBytes
        self.logger = logger
    }

    /// What a verification may use now, without waiting.
    func snapshot(now: Int64) -> Snapshot {
        state.withLock { state in
            Snapshot(lists: state.lists.filter { $0.value.freshUntil > now }.mapValues(\.list),
                     failures: state.failures.filter { now - $0.value.at < Self.failureMemory }.mapValues(\.reason))
        }
    }

    struct Snapshot: Sendable {
        var lists: [String: StatusListToken]
        var failures: [String: String]
    }

    /// Fetches the lists a verification missed, at most one fetch per URI at a time.
    func fetch(_ wanted: [String: TrustAuthority], trust: TrustList) async {
        var tasks: [Task<Void, Never>] = []
        for (uri, authority) in wanted {
            let task = state.withLock { state -> Task<Void, Never> in
                if let running = state.fetching[uri] { return running }
                let task = Task { await self.fetchOne(uri, authority: authority, trust: trust) }
                state.fetching[uri] = task
                return task
            }
            tasks.append(task)
        }
        for task in tasks { await task.value }
    }

    private func fetchOne(_ uri: String, authority: TrustAuthority, trust: TrustList) async {
        defer { _ = state.withLock { $0.fetching.removeValue(forKey: uri) } }
        let keys = TrustList(trust.all.filter { $0.authority?.name == authority.name && $0.role == .status })
        do throws(RemoteFetch.Failure) {
            let bytes = try await RemoteFetch.get(uri, accept: StatusListToken.mediaType, timeout: timeout, maxBytes: maxBytes)
            let list: StatusListToken
            do { list = try StatusListToken.verify(bytes, trustStore: keys) } catch {
                throw RemoteFetch.Failure(error.description)
            }
            guard list.uri == uri else { throw RemoteFetch.Failure("the list fetched from \(uri) says it is \(list.uri)") }
            let now = SystemClock().now
            if let expires = list.expires, now >= expires {
                throw RemoteFetch.Failure("the list \(uri) expired at \(Timestamp.format(expires))")
            }
            var freshUntil = now + max(0, list.ttl ?? Self.defaultTTL)
            if let expires = list.expires { freshUntil = min(freshUntil, expires) }
            let entry = Entry(list: list, freshUntil: freshUntil)
            state.withLock { state in
                state.lists[uri] = entry
                state.failures[uri] = nil
            }
            logger.debug("foreign status list fetched", metadata: ["uri": "\(uri)", "authority": "\(authority.name)"])
        } catch {
            let reason = "the status list \(uri) of \(authority.displayName) cannot be used: \(error.description)"
            state.withLock { state in
                state.lists[uri] = nil
                state.failures[uri] = (SystemClock().now, reason)
            }
            logger.warning("foreign status list unavailable", metadata: ["uri": "\(uri)", "authority": "\(authority.name)",
                                                                         "reason": "\(error.description)"])
        }
    }
}

/// The status source of a server that verifies licences of other authorities too: its own
/// registry for its own licences, the fetched lists of the others for theirs. A list it does not
/// hold is noted in `misses`, fetched, and the verification made again.
struct FederatedStatusSource: StatusSource {
    let own: any StatusSource
    let foreign: ForeignStatusLists.Snapshot
    let misses: Misses

    /// The lists a verification wanted and did not find.
    final class Misses: Sendable {
        private let wanted = Mutex<[String: TrustAuthority]>([:])
        func add(_ uri: String, _ authority: TrustAuthority) { wanted.withLock { $0[uri] = authority } }
        var all: [String: TrustAuthority] { wanted.withLock { $0 } }
    }

    func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer {
        own.status(of: claims, now: now)
    }

    func status(of claims: LicenceClaims, key: TrustedKey, now: Int64) -> LicenceStatusAnswer {
        guard let authority = key.authority else { return own.status(of: claims, key: key, now: now) }
        guard let reference = claims.status else {
            return .unavailable(BilingualMessage(zh: "证照未载明状态列表。", en: "the licence carries no status-list reference"))
        }
        guard authority.ownsStatusURI(reference.uri) else {
            return .unavailable(BilingualMessage(
                zh: "证照所载的状态列表 \(reference.uri) 不在 \(authority.displayName) 的状态列表地址 \(authority.statusBase) 之下，不予获取。",
                en: "the licence names the status list \(reference.uri), which is not under the status base "
                    + "\(authority.statusBase) of \(authority.displayName); it is not fetched"))
        }
        if let list = foreign.lists[reference.uri] {
            guard reference.index < UInt64(list.list.count) else {
                return .unavailable(BilingualMessage(zh: "状态列表 \(reference.uri) 中没有第 \(reference.index) 项。",
                                                     en: "index \(reference.index) is beyond the end of \(reference.uri)"))
            }
            return list.answer(index: reference.index)
        }
        if let failure = foreign.failures[reference.uri] {
            return .unavailable(BilingualMessage(zh: "无法取得 \(authority.displayName) 的状态列表 \(reference.uri)：\(failure)", en: failure))
        }
        misses.add(reference.uri, authority)
        return .unavailable(BilingualMessage(zh: "尚未取得 \(authority.displayName) 的状态列表 \(reference.uri)。",
                                             en: "the status list \(reference.uri) of \(authority.displayName) has not been fetched"))
    }
}
