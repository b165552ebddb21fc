import Foundation
import Logging

/// Everything the command line and the server use of a registry: licences, status, agencies and
/// usage records. Both storage engines implement all of it.
public typealias Registry = LicenceRegistry & AgencyRegistry

/// Where a registry lives, as `--database` names it: a SQLite file path, or a PostgreSQL URL
/// `postgres://USER@HOST:PORT/DATABASE`.
public enum RegistryLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

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

    /// Opens the registry and brings its schema up to date.
    /// - Parameters:
    ///   - password: the PostgreSQL password (ignored for SQLite).
    ///   - create: create the registry when there is none (a SQLite file, or the schema in an existing
    ///     PostgreSQL database); otherwise a missing registry is an error.
    ///   - logger: where PostgreSQL connection events go (nowhere by default: command output stays clean).
    public func open(password: String? = nil, create: Bool, logger: Logger? = nil) throws(RegistryError) -> any Registry {
        switch self {
        case .sqlite(let path):
            return try SQLiteRegistry(path: path, create: create)
        case .postgres(let location):
            return try PostgresRegistry(location: location, password: password, create: create,
                                        logger: logger ?? Logger(label: "elicence.postgres", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
    }
}
