import Foundation
import LicenceCore
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The PostgreSQL feed: positions are `status_event` sequence numbers, handed out in commit order
/// (see ``PostgresRegistry``), and the change counter moves when
///
/// - a notification on `elicence_changes` arrives on the feed's own `LISTEN` connection (another
///   server or a command line committed something);
/// - this process committed through the same registry (so its own writes are seen at once);
/// - the `LISTEN` connection came back after a break: the next read catches up on everything after
///   the last position seen, so a notification missed meanwhile cannot leave the server stale.
///
/// While the `LISTEN` connection is down, the counter moves at every call: every answer then reads the
/// changes itself, and if the database cannot be read either, the answer is `status_unavailable`.
public final class PostgresStatusFeed: StatusFeed {
    private let registry: PostgresRegistry
    private let listener: ChangeListener

    init(registry: PostgresRegistry) throws(RegistryError) {
        self.registry = registry
        listener = try ChangeListener(connections: registry.connections)
    }

    deinit { listener.stop() }

    public func changeCounter() throws(RegistryError) -> Int64 {
        listener.counter() &+ registry.localCommits.load(ordering: .sequentiallyConsistent)
    }

    /// How often the `LISTEN` connection has been (re)established; for tests and logs.
    public var listenConnections: Int { listener.connections }

    public func load(lists: (StatusListInfo) -> Void, slots: (SlotStatus) -> Void) throws(RegistryError) -> Int64 {
        // One snapshot for the position, the lists and every licence: events after the position are
        // exactly the commits the snapshot does not hold.
        try registry.connections.transaction(isolation: "REPEATABLE READ", readOnly: true) { session in
            let position = try session.scalar("SELECT COALESCE(MAX(seq), 0) FROM status_event", as: Int64.self) ?? 0
            try session.forEach("SELECT id, uri, size FROM status_list ORDER BY id") { row in
                let (id, uri, size) = try row.decode((Int64, String, Int64).self)
                lists(StatusListInfo(number: id, uri: uri, size: Int(size)))
            }
            // Through a cursor, in pages: one pass over the table, and a registry of millions is never
            // held as rows all at once.
            try session.execute("DECLARE licences NO SCROLL CURSOR FOR SELECT id, status_list, status_index, status FROM licence")
            while true {
                let rows = try session.query("FETCH FORWARD 20000 FROM licences").rows
                for row in rows {
                    let (id, list, index, status) = try row.decode((String, Int64, Int64, String).self)
                    slots(SlotStatus(list: list, index: Int(index), status: LicenceStatus(rawValue: status) ?? .revoked, licenceID: id))
                }
                if rows.count < 20000 { break }
            }
            return position
        }
    }

    /// The events after `position`, in pages of 1,000, each licence looked up by its key: small pages
    /// and `LIMIT 1` keep the plan an index walk whatever the table statistics say. (Right after a bulk
    /// load they are stale, and a plan that scanned every event and licence would delay every
    /// server's answers.) A list's URI and size never change once it exists, so reading them
    /// afterwards needs no common snapshot.
    public func changes(after position: Int64, lists: (StatusListInfo) -> Void,
                        slots: (SlotStatus) -> Void) throws(RegistryError) -> Int64 {
        try registry.connections.withConnection { session in
            var latest = position
            var changed: [SlotStatus] = []
            var listsSeen = Set<Int64>()
            while true {
                let rows = try session.query("""
                    SELECT e.seq, l.status_list, l.status_index, l.status, l.id
                    FROM (SELECT seq, licence_id FROM status_event WHERE seq > \(latest) ORDER BY seq LIMIT 1000) e
                    CROSS JOIN LATERAL (
                        SELECT status_list, status_index, status, id FROM licence WHERE id = e.licence_id LIMIT 1
                    ) l
                    ORDER BY e.seq
                    """).rows
                for row in rows {
                    let (seq, list, index, status, id) = try row.decode((Int64, Int64, Int64, String, String).self)
                    latest = seq
                    listsSeen.insert(list)
                    changed.append(SlotStatus(list: list, index: Int(index), status: LicenceStatus(rawValue: status) ?? .revoked,
                                              licenceID: id))
                }
                if rows.count < 1000 { break }
            }
            if !listsSeen.isEmpty {
                try session.forEach("SELECT id, uri, size FROM status_list WHERE id = ANY(\(Array(listsSeen)))") { row in
                    let (id, uri, size) = try row.decode((Int64, String, Int64).self)
                    lists(StatusListInfo(number: id, uri: uri, size: Int(size)))
                }
            }
            for slot in changed { slots(slot) }
            return latest
        }
    }
}

/// A connection of its own that `LISTEN`s on `elicence_changes` and counts what it hears. When the
/// connection breaks it is made again (after 50 ms, then up to 1 s apart), entirely on the event
/// loop: nothing here ever waits.
final class ChangeListener: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var listening = false
        var stopped = false
        var connections = 0
        var retryDelay: TimeAmount = .milliseconds(50)
    }

    private let connectionsSource: PostgresConnections
    private let eventLoop: any EventLoop
    private let state = Mutex(State())
    private let heard = Atomic<Int64>(0)
    private let logger: Logger

    init(connections: PostgresConnections) throws(RegistryError) {
        connectionsSource = connections
        logger = connections.logger
        eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        // The first connection is made before the server starts answering, so that a database that
        // cannot be reached is reported at once.
        do { try connect().wait() } catch {
            throw PostgresConnections.registryError(error, location: connections.location)
        }
    }

    var connections: Int { state.withLock { $0.connections } }

    /// Moves with every notification and reconnection; while not listening, with every call.
    func counter() -> Int64 {
        let listening = state.withLock { $0.listening }
        if listening { return heard.load(ordering: .sequentiallyConsistent) }
        return heard.add(1, ordering: .sequentiallyConsistent).newValue
    }

    private func connect() -> EventLoopFuture<Void> {
        connectionsSource.connect(on: eventLoop, applicationName: "elicence-listen").flatMap { connection in
            connection.addListener(channel: PostgresRegistry.channel) { [weak self] _, _ in
                self?.heard.add(1, ordering: .sequentiallyConsistent)
            }
            return connection.query("LISTEN \(unescaped: PostgresRegistry.channel)", logger: self.logger).flatMapError { error in
                connection.close().flatMapThrowing { throw error }
            }.map { _ in connection }
        }.flatMapThrowing { (connection: PostgresConnection) -> Void in
            let keep = self.state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.connection = connection
                state.listening = true
                state.connections += 1
                state.retryDelay = .milliseconds(50)
                return true
            }
            guard keep else {
                connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                return
            }
            // Anything committed while no connection listened is read at the next answer.
            self.heard.add(1, ordering: .sequentiallyConsistent)
            connection.closeFuture.whenComplete { [weak self] _ in self?.connectionLost(connection) }
        }
    }

    private func connectionLost(_ connection: PostgresConnection) {
        let delay = state.withLock { state -> TimeAmount? in
            guard state.connection === connection else { return nil }
            state.connection = nil
            state.listening = false
            return state.stopped ? nil : state.retryDelay
        }
        guard let delay else { return }
        logger.warning("the LISTEN connection was lost; reconnecting", metadata: ["database": "\(connectionsSource.location)"])
        scheduleReconnect(after: delay)
    }

    private func scheduleReconnect(after delay: TimeAmount) {
        eventLoop.scheduleTask(in: delay) { [weak self] in
            guard let self, !self.state.withLock({ $0.stopped }) else { return }
            self.connect().whenFailure { [weak self] error in
                guard let self else { return }
                let next = self.state.withLock { state -> TimeAmount? in
                    guard !state.stopped else { return nil }
                    state.retryDelay = min(state.retryDelay * 2, .seconds(1))
                    return state.retryDelay
                }
                self.logger.warning("LISTEN reconnection failed", metadata: ["error": "\(error)"])
                if let next { self.scheduleReconnect(after: next) }
            }
        }
    }

    func stop() {
        let connection = state.withLock { state -> PostgresConnection? in
            state.stopped = true
            state.listening = false
            defer { state.connection = nil }
            return state.connection
        }
        if let connection {
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }
}
