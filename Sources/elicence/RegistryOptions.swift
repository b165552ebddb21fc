import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

/// `--database PATH|URL`: the registry, a SQLite file or a PostgreSQL database, and where the
/// PostgreSQL password comes from.
struct RegistryOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The registry: a SQLite file, or a PostgreSQL database as postgres://USER@HOST:PORT/DATABASE.",
        valueName: "PATH|URL"))
    var database: String = "./data/elicence.sqlite"

    @Option(help: ArgumentHelp(
        "A file holding the PostgreSQL password; ELICENCE_DATABASE_PASSWORD also works (never in the URL).",
        valueName: "FILE"))
    var databasePasswordFile: String?

    var location: RegistryLocation {
        get throws {
            do { return try RegistryLocation(parsing: database) } catch { throw CLIError.map(registry: error) }
        }
    }

    /// Runs `body` with the registry open and its background work (PostgreSQL's connection pool)
    /// running; only commands that add to the registry (`create`) may create it.
    func withRegistry<T>(create: Bool = false, _ body: (any Registry) async throws -> T) async throws -> T {
        let location = try location
        var password: String?
        if case .postgres = location { password = try self.password() }
        return try await location.withRegistry(password: password, create: create, body)
    }

    /// The PostgreSQL password from --database-password-file or ELICENCE_DATABASE_PASSWORD; never from an argument.
    func password() throws -> String? {
        try Secret.read(file: databasePasswordFile, option: "--database-password-file", environment: "ELICENCE_DATABASE_PASSWORD")
    }
}

/// Who made a change, for the status history.
struct ActorOption: ParsableArguments {
    @Option(help: "Who makes the change, recorded in the history (default: user@host).")
    var actor: String?

    var name: String {
        if let actor, !actor.isEmpty { return actor }
        let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.userName
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }
}

/// Registry errors map to exit codes: a missing licence or a conflicting change is bad input (2);
/// a storage failure is internal (3).
extension CLIError {
    static func map(registry error: RegistryError) -> CLIError {
        CLIError(exitCode: error.code == .storage ? internalFailure : badInput, message: error.message)
    }
}

enum Today {
    /// Today in China time.
    static var date: CalendarDate { CalendarDate(chinaDayOf: SystemClock().now) }
}

extension LicenceIdentifier {
    /// An identifier as a person typed it on the command line: a malformed one, or one with a wrong
    /// check character, is bad input that names what was expected.
    static func argument(_ text: String, name: String = "ID") throws -> LicenceIdentifier {
        do { return try LicenceIdentifier(parsing: text.trimmingWhitespace()) } catch {
            throw CLIError.badInput("\(name): \(error.message)")
        }
    }
}
