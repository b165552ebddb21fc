import LicenceCore
import LicenceCrypto
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The authorities (other provinces) whose signed trust lists were imported under
/// `Keys/authorities/`: their keys verify their licences. A service of the application refreshes
/// every list on a schedule (`--trust-refresh`, default 1 hour) and on SIGHUP, which also picks up
/// authorities imported or removed with the command line since. A list that cannot be fetched or is
/// refused is logged with its reason and the last good one kept; once that one lapses, the
/// ``Verifier`` refuses the authority's licences (`status_unavailable`), never calls them valid.
final class Federation: Service, Sendable {
    private let directory: AuthorityDirectory
    private let interval: Duration
    private let logger: Logger
    private struct State {
        var keys: TrustList = TrustList([])
        var authorities: [String: TrustAuthority] = [:]
    }
    private let state = Mutex(State())

    init(keys: KeyStore, interval: Duration, logger: Logger) {
        directory = AuthorityDirectory(keys: keys)
        self.interval = interval
        self.logger = logger
    }

    /// The keys of every imported list in force.
    var keys: TrustList { state.withLock { $0.keys } }

    /// Reads what is on disk (no network): done before the server answers.
    func load() async {
        let directory = self.directory
        let read = try? await NIOThreadPool.singleton.runIfActive { () -> ([AuthorityDirectory.Imported], [String]) in
            directory.loadAll()
        }
        let (authorities, problems) = read ?? ([], ["the authorities directory cannot be read"])
        for problem in problems { logger.error("an imported authority cannot be read", metadata: ["problem": "\(problem)"]) }
        var keys: [TrustedKey] = []
        var byName: [String: TrustAuthority] = [:]
        for authority in authorities {
            do {
                let trusted = try authority.trustedKeys()
                keys += trusted
                if let list = authority.list {
                    byName[authority.name] = TrustAuthority(name: authority.name, code: list.authorityCode, displayName: list.authorityName,
                                                            statusBase: list.statusBase, sequence: list.sequence,
                                                            listExpires: list.expires)
                }
            } catch {
                logger.error("an imported trust list cannot be used", metadata: ["authority": "\(authority.name)", "error": "\(error.message)"])
            }
        }
        let changed = state.withLock { state -> Bool in
            let changed = state.authorities != byName
            state.keys = TrustList(keys)
            state.authorities = byName
            return changed
        }
        if changed {
            logger.info("imported trust lists in force", metadata: [
                "authorities": "\(byName.values.sorted { $0.name < $1.name }.map { "\($0.name) #\($0.sequence)" }.joined(separator: ", "))",
                "keys": "\(keys.count)"])
        }
    }

    /// Reads the directory (authorities imported or removed since take effect at once), fetches
    /// every imported list again, all at the same time, then reads the directory again.
    func refreshAll(trigger: String) async {
        await load()
        let directory = self.directory
        let names = (try? await NIOThreadPool.singleton.runIfActive { directory.names() }) ?? []
        await withTaskGroup(of: Void.self) { group in
            for name in names { group.addTask { await self.refresh(name, trigger: trigger) } }
        }
        await load()
    }

    private func refresh(_ name: String, trigger: String) async {
        switch await AuthorityRefresh.refresh(name, in: directory, now: { SystemClock().now }) {
        case .accepted(let list, let previous):
            if previous != list.sequence {
                logger.info("trust list accepted", metadata: ["authority": "\(name)", "sequence": "\(list.sequence)",
                                                             "keys": "\(list.keys.count)", "trigger": "\(trigger)"])
            } else {
                logger.debug("trust list refreshed", metadata: ["authority": "\(name)", "sequence": "\(list.sequence)"])
            }
        case .refused(let reason):
            logger.warning("trust list refused; the last good one is kept",
                           metadata: ["authority": "\(name)", "reason": "\(reason)", "trigger": "\(trigger)"])
        case .noSource:
            break
        }
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let interval = self.interval
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in hangups { await self.refreshAll(trigger: "SIGHUP") }
                }
                group.addTask {
                    await self.refreshAll(trigger: "start")
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { break }
                        await self.refreshAll(trigger: "schedule")
                    }
                }
                await group.waitForAll()
            }
        }
    }
}

/// The verifier's own keys and the imported authorities' keys.
struct CombinedTrustStore: TrustStore {
    let own: TrustList
    let foreign: TrustList

    func keys(kid: [UInt8]) -> [TrustedKey] {
        let mine = own.keys(kid: kid)
        let theirs = foreign.keys(kid: kid)
        return theirs.isEmpty ? mine : mine + theirs
    }
}
