import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

/// `--database PATH`: the registry file.
struct RegistryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The registry's SQLite file.", valueName: "PATH"))
    var database: String = "./data/elicence.sqlite"

    /// Opens the registry; only commands that add to it (`create`) may create the file.
    func open(create: Bool = false) throws -> SQLiteRegistry {
        if database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") {
            throw CLIError.badInput("--database: PostgreSQL registries are not supported by this build; give a SQLite file path")
        }
        return try SQLiteRegistry(path: database, create: create)
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
