import Foundation
import Logging
import ServiceLifecycle

/// Everything the command line and the server use of a registry: licences, status, agencies and
/// usage records. Both storage engines implement all of it.
///
/// A registry is also a `Service`: its `run()` is the engine's background work — for PostgreSQL
/// the connection pool (keep-alive, reconnection) and the `LISTEN` connection; nothing for SQLite.
/// It runs until graceful shutdown or cancellation, in the server's `ServiceGroup` or beside a
/// command (``RegistryLocation/withRegistry(password:create:poolSize:logger:_:)``). Calls made
/// while it does not run wait for it.
public protocol Registry: LicenceRegistry, AgencyRegistry, TransparencyLogStore, HolderRegistry, Service {}

/// Where a registry lives, as `--database` names it: a SQLite file path, or a PostgreSQL URL
/// `postgres://USER@HOST:PORT/DATABASE`.
public enum RegistryLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Connections a server keeps to PostgreSQL by default (`--database-pool`).
    public static let defaultPoolSize = 20

    /// Reads `--database`: a `postgres://` or `postgresql://` URL is PostgreSQL; anything else is a
    /// SQLite file path.
    public init(parsing text: String) throws(RegistryError) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: text))
        } else {
            guard !text.isEmpty else { throw RegistryError(.invalid, "--database must name a SQLite file or a postgres:// URL") }
            self = .sqlite(path: text)
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let location): return location.description
        }
    }

    /// Opens the registry and brings its schema up to date. Its background work is not started:
    /// run the registry as a service (or use ``withRegistry(password:create:poolSize:logger:_:)``).
    /// - Parameters:
    ///   - password: the PostgreSQL password (ignored for SQLite).
    ///   - create: create the registry when there is none (a SQLite file, or the schema in an existing
    ///     PostgreSQL database); otherwise a missing registry is an error.
    ///   - poolSize: most PostgreSQL connections for queries (ignored for SQLite).
    ///   - logger: where PostgreSQL connection events go (nowhere by default: command output stays clean).
    public func open(password: String? = nil, create: Bool, poolSize: Int = defaultPoolSize,
                     logger: Logger? = nil) async throws(RegistryError) -> any Registry {
        switch self {
        case .sqlite(let path):
            return try await SQLiteRegistry.open(path: path, create: create)
        case .postgres(let location):
            return try await PostgresRegistry.open(location: location, password: password, create: create, poolSize: poolSize,
                                                   logger: logger ?? Logger(label: "elicence.postgres", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
    }

    /// Opens the registry, runs its background work beside `body`, and stops it when `body` ends.
    public func withRegistry<T>(password: String? = nil, create: Bool, poolSize: Int = 4, logger: Logger? = nil,
                                _ body: (any Registry) async throws -> T) async throws -> T {
        let registry = try await open(password: password, create: create, poolSize: poolSize, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await registry.run() }
            defer { group.cancelAll() }
            return try await body(registry)
        }
    }
}
