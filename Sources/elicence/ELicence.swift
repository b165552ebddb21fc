import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

@main
struct ELicence: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elicence",
        abstract: "Issue, sign and verify electronic licences (电子证照).",
        discussion: """
            Exit codes: 0 ok / licence valid, 1 licence not valid, 2 bad input (nothing was done), \
            3 internal failure.
            """,
        version: "0.1.0",
        subcommands: [
            KeysCommand.self, TypesCommand.self, SignCommand.self, IssueCommand.self, RevokeCommand.self,
            SuspendCommand.self, ReinstateCommand.self, ShowCommand.self, ListCommand.self, QRCommand.self,
            StatusListCommand.self, VerifyCommand.self, ServeCommand.self, AgenciesCommand.self, UsageCommand.self,
            StatsCommand.self, RegistryCommand.self, LogCommand.self, HoldersCommand.self, WindowsCommand.self, TrustCommand.self,
        ]
    )

    /// Runs the command tree with this program's exit codes: argument errors are bad input (2),
    /// not the parser's usual 64.
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(CLIError.badInput)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // help requested from a subcommand
            if let mapped = CLIError.map(error) {
                if !mapped.message.isEmpty { Terminal.error(mapped.message) }
                Foundation.exit(mapped.exitCode)
            }
            if error is ValidationError {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(CLIError.badInput)
            }
            Terminal.error("internal failure: \(error)")
            Foundation.exit(CLIError.internalFailure)
        }
    }
}

/// An error that ends a command with a chosen exit code.
struct CLIError: Error {
    static let notValid: Int32 = 1
    static let badInput: Int32 = 2
    static let internalFailure: Int32 = 3

    var exitCode: Int32
    var message: String

    static func badInput(_ message: String) -> CLIError { CLIError(exitCode: badInput, message: message) }

    /// The exit code and message for the library errors a command lets through.
    static func map(_ error: any Error) -> CLIError? {
        switch error {
        case let e as CLIError: return e
        case let e as LicenceCoreError: return .badInput(e.description)
        case let e as LicenceCryptoError:
            return CLIError(exitCode: e.code == .openssl ? internalFailure : badInput, message: e.message)
        case let e as FileError: return .badInput(e.message)
        case let e as RegistryError: return .map(registry: e)
        default: return nil
        }
    }
}

enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("elicence: " + message + "\n").utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data(("elicence: warning: " + message + "\n").utf8))
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// `--keys DIR` and the passphrase of encrypted private keys.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("keys"), help: ArgumentHelp(
        "The key directory, holding trust-list.json (and private/ on an issuing host); a directory, not the file.",
        valueName: "DIR"))
    var directory: String = "./Keys"

    /// `--keys` names a directory: given the trust list file itself, say which directory to give.
    func validate() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            let parent = (directory as NSString).deletingLastPathComponent
            let hint = (directory as NSString).lastPathComponent == "trust-list.json"
                ? "give --keys \(parent.isEmpty ? "." : parent)" : "save it as DIR/trust-list.json and give --keys DIR"
            throw ValidationError("--keys takes the directory that holds trust-list.json, not a file: \(directory) is a file; \(hint)")
        }
    }

    @Option(help: ArgumentHelp(
        "A file holding the passphrase of encrypted private keys; ELICENCE_KEY_PASSPHRASE also works.",
        valueName: "FILE"))
    var passphraseFile: String?

    var store: KeyStore { KeyStore(directory: directory) }

    /// The passphrase from --passphrase-file or ELICENCE_KEY_PASSPHRASE; never from an argument.
    func passphrase() throws -> String? {
        try Secret.read(file: passphraseFile, option: "--passphrase-file", environment: "ELICENCE_KEY_PASSPHRASE")
    }
}

/// Secrets (key passphrases, database passwords) come from a file or an environment variable, never
/// from an argument: a command line is visible to every user of the host.
enum Secret {
    /// The first line of `file` when one is given, else the variable `environment`, else nil.
    static func read(file: String?, option: String, environment: String) throws -> String? {
        if let file {
            let bytes: [UInt8]
            do { bytes = try FileIO.read(file, limit: 4096) } catch { throw CLIError.badInput("\(option): \(error.message)") }
            var text = String(decoding: bytes, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else { throw CLIError.badInput("\(option): \(file) is empty") }
            return text
        }
        if let value = ProcessInfo.processInfo.environment[environment], !value.isEmpty { return value }
        return nil
    }
}

extension SignatureAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { ["sm2", "es256", "ed25519"] }
    public var defaultValueDescription: String { self == .edDSA ? "ed25519" : name.lowercased() }
}

extension KeyRole: ExpressibleByArgument {}
