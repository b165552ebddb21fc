import Foundation

/// A registry engine the behavioural tests run against.
public enum Backend: String, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    /// SQLite always; PostgreSQL too when `ELICENCE_TEST_POSTGRES` names a cluster (as `Tools/test`
    /// arranges with `Tools/postgres-cluster`).
    public static var available: [Backend] { PostgresCluster.shared == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// PostgreSQL alone, or nothing when no cluster is given.
    public static var postgresIfAvailable: [Backend] { PostgresCluster.shared == nil ? [] : [.postgres] }

    public var description: String { rawValue }
}

/// The PostgreSQL cluster the tests may use: `ELICENCE_TEST_POSTGRES=postgres://USER@HOST:PORT` and the
/// password in the file `ELICENCE_TEST_POSTGRES_PASSWORD_FILE` (or none, for trust authentication).
public struct PostgresCluster: Sendable {
    public var base: String
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var passwordFile: String?

    public static let shared: PostgresCluster? = {
        let environment = ProcessInfo.processInfo.environment
        guard let base = environment["ELICENCE_TEST_POSTGRES"], !base.isEmpty,
              let url = URLComponents(string: base), let host = url.host, let user = url.user else { return nil }
        let passwordFile = environment["ELICENCE_TEST_POSTGRES_PASSWORD_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let password = passwordFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var trimmed = base
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return PostgresCluster(base: trimmed, host: host, port: url.port ?? 5432, user: user, password: password,
                               passwordFile: passwordFile)
    }()

    /// Runs SQL with psql against `database`; throws with psql's message when it fails.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        var environment = ["PGCONNECT_TIMEOUT": "10"]
        if let password { environment["PGPASSWORD"] = password }
        let result = try run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", user,
                                      "-d", database, "-c", sql], environment: environment, timeout: 60)
        guard result.status == 0 else { throw ServerFailure(message: "psql failed: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A registry database of one test's own: a SQLite file in its temporary directory, or a new
/// PostgreSQL database, dropped when the value is released.
public final class TestDatabase: Sendable {
    public let backend: Backend
    public let directory: TemporaryDirectory
    /// What `--database` takes.
    public let url: String
    /// The PostgreSQL password, when there is one.
    public let password: String?
    /// The PostgreSQL database name.
    public let name: String?
    private let cluster: PostgresCluster?

    public init(_ backend: Backend, directory: TemporaryDirectory = TemporaryDirectory("elicence-db")) throws {
        self.backend = backend
        self.directory = directory
        switch backend {
        case .sqlite:
            url = directory.file("data/registry.sqlite")
            password = nil
            name = nil
            cluster = nil
        case .postgres:
            guard let cluster = PostgresCluster.shared else {
                throw ServerFailure(message: "no PostgreSQL cluster: set ELICENCE_TEST_POSTGRES (Tools/postgres-cluster start DIR)")
            }
            var generator = SystemRandomNumberGenerator()
            let name = "t_" + String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36)
            try cluster.psql("CREATE DATABASE \(name)")
            self.name = name
            self.cluster = cluster
            password = cluster.password
            url = cluster.base + "/" + name
        }
    }

    deinit {
        if let cluster, let name { _ = try? cluster.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    /// `--database` and, for PostgreSQL, `--database-password-file`.
    public var arguments: [String] {
        var arguments = ["--database", url]
        if backend == .postgres, let file = cluster?.passwordFile { arguments += ["--database-password-file", file] }
        return arguments
    }

    /// Runs SQL in this test's database, from outside the registry: the `sqlite3` shell or `psql`.
    @discardableResult
    public func execute(_ sql: String) throws -> String {
        switch backend {
        case .postgres:
            return try psql(sql)
        case .sqlite:
            let result = try run("sqlite3", [url, sql])
            guard result.status == 0 else { throw ServerFailure(message: "sqlite3 failed: \(result)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Runs SQL in this test's PostgreSQL database.
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        guard let cluster, let name else { throw ServerFailure(message: "psql needs a PostgreSQL test database") }
        return try cluster.psql(sql, database: name)
    }
}
