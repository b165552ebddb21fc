import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import _ConnectionPoolModule
import Synchronization

/// One PostgreSQL database: postgres-nio's `PostgresClient` — a connection pool with keep-alive
/// and reconnection, run as a service — for every query, and connections of their own for what
/// must not depend on the pool (migrations at start, which report an unreachable database or a
/// wrong password at once, and the `LISTEN` connection).
///
/// Nothing here holds a thread while it waits: queries are awaited on the pool's event loops.
final class PostgresDatabase: Sendable {
    let location: PostgresLocation
    let client: PostgresClient
    let logger: Logger
    private let connectionConfiguration: PostgresConnection.Configuration
    private let nextID = Atomic<Int>(1)
    /// Opened when ``run()`` starts: queries wait for it rather than lease from a pool that is not
    /// running yet.
    private let started = Gate()

    init(location: PostgresLocation, password: String?, poolSize: Int, logger: Logger) throws(RegistryError) {
        self.location = location
        self.logger = logger
        var connectionTLS = PostgresConnection.Configuration.TLS.disable
        var poolTLS = PostgresClient.Configuration.TLS.disable
        if location.tls != .disable {
            var settings = TLSConfiguration.makeClientConfiguration()
            if location.tls == .require { settings.certificateVerification = .none }
            if let root = location.rootCertificate { settings.trustRoots = .file(root) }
            do { connectionTLS = .require(try NIOSSLContext(configuration: settings)) } catch {
                throw RegistryError(.invalid, "--database \(location): TLS cannot be set up: \(error)")
            }
            poolTLS = .require(settings)
        }
        // A commit is acknowledged once it is on disk (and on synchronous standbys, where there are
        // any), whatever the server's default. The queries are all short lookups by key, for which
        // compiling a plan to machine code (PostgreSQL's JIT) costs far more than it saves.
        let parameters = [("application_name", "elicence"), ("synchronous_commit", "on"), ("jit", "off")]
        var connection = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                          password: password, database: location.database, tls: connectionTLS)
        connection.options.additionalStartupParameters = parameters
        connection.options.connectTimeout = .seconds(10)
        connectionConfiguration = connection
        var pool = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                password: password, database: location.database, tls: poolTLS)
        pool.options.additionalStartupParameters = parameters
        pool.options.connectTimeout = .seconds(10)
        pool.options.maximumConnections = max(1, poolSize)
        client = PostgresClient(configuration: pool, backgroundLogger: logger)
    }

    /// The pool's background work; queries wait until it runs.
    func run() async {
        started.open()
        await client.run()
    }

    /// A new connection of its own, outside the pool.
    func connect(applicationName: String? = nil) async throws(RegistryError) -> PostgresConnection {
        var configuration = connectionConfiguration
        if let applicationName { configuration.options.additionalStartupParameters[0] = ("application_name", applicationName) }
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: nextID.add(1, ordering: .relaxed).oldValue,
                                                        logger: logger)
        } catch {
            throw Self.registryError(error, location: location)
        }
    }

    /// Runs `body` with a connection of the pool, in autocommit mode. `idempotent` work (reads) is run
    /// once more when the connection broke under it (a pooled connection may have died while idle:
    /// the server restarted, a proxy timed it out).
    func withSession<T: Sendable>(idempotent: Bool = true,
                                  _ body: (PostgresSession) async throws -> T) async throws(RegistryError) -> T {
        await started.passed()
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    try await body(PostgresSession(connection: connection, logger: logger))
                }
            } catch {
                if attempt == 1, idempotent, Self.isConnectionFailure(error) { continue }
                throw Self.registryError(error, location: location)
            }
        }
    }

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`); returns once the commit is durable. When
    /// `body` throws, the transaction is rolled back and the error passed on. A transaction the server
    /// aborted as a deadlock victim or a serialization failure is run again, `body` included.
    func transaction<T: Sendable>(isolation: String = "READ COMMITTED", readOnly: Bool = false,
                                  _ body: (PostgresSession) async throws -> T) async throws(RegistryError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await withSession(idempotent: readOnly) { session in
                    try await session.transaction(isolation: isolation, readOnly: readOnly, body)
                }
            } catch where attempt < 5 && ["40P01", "40001"].contains(error.sqlState ?? "") {
                continue
            }
        }
    }

    /// `body`, or a storage error when it has not finished within `seconds`: the pool waits for a
    /// connection while the database is down, and some callers must answer sooner.
    func withDeadline<T: Sendable>(seconds: Int64,
                                   _ body: @escaping @Sendable () async throws(RegistryError) -> T) async throws(RegistryError) -> T {
        let location = self.location
        let result = await withTaskGroup(of: Result<T, RegistryError>?.self) { group in
            group.addTask {
                do throws(RegistryError) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return Task.isCancelled ? nil : .failure(RegistryError(.storage,
                    "PostgreSQL \(location.host):\(location.port)/\(location.database) did not answer within \(seconds) s"))
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(RegistryError(.storage, "cancelled"))
        }
        return try result.get()
    }

    // MARK: Errors

    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return error is IOError || error is ChannelError }
        return [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(error.code)
    }

    static func registryError(_ error: any Error, location: PostgresLocation) -> RegistryError {
        if let error = error as? RegistryError { return error }
        let place = "PostgreSQL \(location.host):\(location.port)/\(location.database)"
        if let error = error as? ConnectionPoolError, error == .connectionCreationCircuitBreakerTripped {
            return RegistryError(.storage, "\(place) cannot be reached: no connection could be made for 15 s")
        }
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

/// One connection lent to one caller.
struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement and returns all its rows and what it did.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresQueryResult {
        let result: EventLoopFuture<PostgresQueryResult> = connection.query(query, logger: logger)
        return try await result.get()
    }

    func execute(_ query: PostgresQuery) async throws {
        try await self.query(query)
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.query(query).rows
    }

    /// The first column of the first row, or nil when there is no row.
    func scalar<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type) async throws -> T? {
        guard let row = try await rows(query).first else { return nil }
        return try row.decode(T.self)
    }

    /// `body` between `BEGIN` and `COMMIT`, rolled back when it throws. A connection whose rollback
    /// failed is closed, so that the pool never lends it in the middle of a transaction.
    func transaction<T: Sendable>(isolation: String = "READ COMMITTED", readOnly: Bool = false,
                                  _ body: (PostgresSession) async throws -> T) async throws -> T {
        try await execute(PostgresQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolation)\(readOnly ? " READ ONLY" : "")"))
        do {
            let result = try await body(self)
            try await execute("COMMIT")
            return result
        } catch {
            do { try await execute("ROLLBACK") } catch {
                let _: EventLoopFuture<Void> = connection.close()
            }
            throw error
        }
    }
}

/// A one-way gate: ``passed()`` returns once ``open()`` has been called, at once after that.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func passed() async {
        guard !state.withLock({ $0.open }) else { return }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
