import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Connections to one PostgreSQL database, for synchronous callers.
///
/// The registry's API is synchronous: the command line and the server's handlers call it directly,
/// as they call SQLite. postgres-nio is asynchronous, so the bridge is its `EventLoopFuture`
/// interface: the I/O runs on NIO's event-loop threads, and the calling thread waits for the future.
/// No Swift concurrency task is involved, so a caller on one of the few cooperative threads never
/// waits for work that needs another cooperative thread (which could deadlock when every cooperative
/// thread is waiting), and event-loop threads never wait at all. Calling from an event-loop thread is
/// a programming error, which NIO traps.
///
/// At most `maxConnections` are open; a caller beyond that waits for one to come back. A connection
/// that failed is closed, never reused.
final class PostgresConnections: Sendable {
    let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let group: any EventLoopGroup
    let logger: Logger
    private let idle = Mutex<[PostgresConnection]>([])
    /// One permit per connection that may be open.
    private let permits: DispatchSemaphore
    private let nextID = Atomic<Int>(1)

    init(location: PostgresLocation, password: String?, maxConnections: Int = 10,
         group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) throws(RegistryError) {
        self.location = location
        self.group = group
        self.logger = logger
        permits = DispatchSemaphore(value: maxConnections)
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .require, .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            if location.tls == .require { settings.certificateVerification = .none }
            if let root = location.rootCertificate { settings.trustRoots = .file(root) }
            do { tls = .require(try NIOSSLContext(configuration: settings)) } catch {
                throw RegistryError(.invalid, "--database \(location): TLS cannot be set up: \(error)")
            }
        }
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                             password: password, database: location.database, tls: tls)
        // A commit is acknowledged once it is on disk (and on synchronous standbys, where there are
        // any), whatever the server's default. The queries are all short lookups by key, for which
        // compiling a plan to machine code (PostgreSQL's JIT) costs far more than it saves.
        configuration.options.additionalStartupParameters = [("application_name", "elicence"), ("synchronous_commit", "on"),
                                                             ("jit", "off")]
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
    }

    deinit {
        for connection in idle.withLock({ $0 }) {
            // The future keeps the connection alive until it is closed; nothing waits for it here, since
            // the last reference may go on any thread.
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    /// A new connection, not from the pool (the change listener keeps one of its own).
    func connect(on eventLoop: (any EventLoop)? = nil, applicationName: String? = nil) -> EventLoopFuture<PostgresConnection> {
        var configuration = self.configuration
        if let applicationName {
            configuration.options.additionalStartupParameters[0] = ("application_name", applicationName)
        }
        return PostgresConnection.connect(on: eventLoop ?? group.next(), configuration: configuration,
                                          id: nextID.add(1, ordering: .relaxed).oldValue, logger: logger)
    }

    /// Runs `body` with a connection of the pool, in autocommit mode. `idempotent` work (reads) is run
    /// once more on a fresh connection when the connection broke under it.
    func withConnection<T>(idempotent: Bool = true, _ body: (PostgresSession) throws -> T) throws(RegistryError) -> T {
        permits.wait()
        defer { permits.signal() }
        var attempt = 0
        while true {
            attempt += 1
            let (connection, reused) = try checkOut()
            let session = PostgresSession(connection: connection, logger: logger)
            do {
                let result = try body(session)
                checkIn(connection, healthy: !session.broken)
                return result
            } catch {
                checkIn(connection, healthy: !session.broken && !Self.isConnectionFailure(error))
                // A pooled connection may have died while idle (the server restarted, a proxy timed it
                // out): try once more on a new one when nothing can have been half done.
                let safe = idempotent || session.statements <= 1
                if attempt == 1, reused, Self.isConnectionFailure(error), safe { continue }
                throw Self.registryError(error, location: location)
            }
        }
    }

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`); returns once the commit is durable. When
    /// `body` throws, the transaction is rolled back and the error passed on. A transaction the server
    /// aborted as a deadlock victim or a serialization failure is run again, `body` included.
    func transaction<T>(isolation: String = "READ COMMITTED", readOnly: Bool = false,
                        _ body: (PostgresSession) throws -> T) throws(RegistryError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try withConnection(idempotent: readOnly) { session in
                    try Self.run(session, isolation: isolation, readOnly: readOnly, body)
                }
            } catch where attempt < 5 && ["40P01", "40001"].contains(error.sqlState ?? "") {
                continue
            }
        }
    }

    private static func run<T>(_ session: PostgresSession, isolation: String, readOnly: Bool,
                               _ body: (PostgresSession) throws -> T) throws -> T {
        try session.execute(PostgresQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolation)\(readOnly ? " READ ONLY" : "")"))
        do {
            let result = try body(session)
            try session.execute("COMMIT")
            return result
        } catch {
            if !session.broken {
                do { try session.execute("ROLLBACK") } catch { session.broken = true }
            }
            throw error
        }
    }

    private func checkOut() throws(RegistryError) -> (PostgresConnection, reused: Bool) {
        while let connection = idle.withLock({ $0.popLast() }) {
            if !connection.isClosed { return (connection, true) }
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
        do {
            return (try connect().wait(), false)
        } catch {
            throw Self.registryError(error, location: location)
        }
    }

    private func checkIn(_ connection: PostgresConnection, healthy: Bool) {
        if healthy && !connection.isClosed {
            idle.withLock { $0.append(connection) }
        } else {
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    // MARK: Errors

    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return error is IOError || error is ChannelError }
        return [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(error.code)
    }

    /// The SQLSTATE of a server error, such as `23505` for a unique violation.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    static func registryError(_ error: any Error, location: PostgresLocation) -> RegistryError {
        if let error = error as? RegistryError { return error }
        let place = "PostgreSQL \(location.host):\(location.port)/\(location.database)"
        guard let error = error as? PSQLError else { return RegistryError(.storage, "\(place): \(error)") }
        if let message = error.serverInfo?[.message] {
            switch error.serverInfo?[.sqlState] {
            case "3D000":
                return RegistryError(.invalid, "\(place): \(message); create the database first (createdb), then run `elicence types add`")
            case "28P01", "28000":
                return RegistryError(.invalid, "\(place): \(message); the password comes from ELICENCE_DATABASE_PASSWORD or --database-password-file")
            default:
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                var mapped = RegistryError(.storage, "\(place): \(message)\(detail)")
                mapped.sqlState = error.serverInfo?[.sqlState]
                return mapped
            }
        }
        switch error.code {
        case .authMechanismRequiresPassword:
            return RegistryError(.invalid, "\(place) asks for a password: set ELICENCE_DATABASE_PASSWORD or give --database-password-file FILE")
        case .connectionError:
            let reason = error.underlying.map { "\($0)" } ?? "unreachable"
            return RegistryError(.invalid, "\(place) cannot be reached: \(reason)")
        case .serverClosedConnection, .uncleanShutdown:
            return RegistryError(.storage, "\(place) closed the connection")
        case .sslUnsupported:
            return RegistryError(.invalid, "\(place) does not offer TLS; give sslmode=disable or enable ssl on the server")
        default:
            return RegistryError(.storage, "\(place): \(error.code)\(error.underlying.map { ": \($0)" } ?? "")")
        }
    }
}

/// One connection lent to one caller, used only on that caller's thread.
final class PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    /// Statements sent so far.
    private(set) var statements = 0
    /// The connection must not go back to the pool (a statement failed in a way that leaves its state unknown).
    var broken = false

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs one statement and returns all its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        statements += 1
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            if PostgresConnections.isConnectionFailure(error) { broken = true }
            throw error
        }
    }

    func execute(_ query: PostgresQuery) throws {
        try self.query(query)
    }

    /// The rows of `query`, each handed to `body` on this thread.
    func forEach(_ query: PostgresQuery, _ body: (PostgresRow) throws -> Void) throws {
        for row in try self.query(query).rows { try body(row) }
    }

    /// The first column of the first row, or nil when there is no row.
    func scalar<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type) throws -> T? {
        guard let row = try self.query(query).rows.first else { return nil }
        return try row.decode(T.self)
    }
}
