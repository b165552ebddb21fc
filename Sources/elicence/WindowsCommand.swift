import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

struct WindowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "windows",
        abstract: "Service windows (办事窗口) and their credentials: a window signs in as its agency.",
        discussion: """
            The service-window page (/) exchanges a window credential for a session (窗口登录 · Sign in); the \
            window's scans are then its agency's usage records and are not limited as anonymous ones.
            """,
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a window credential for an agency and print it, once; only its SHA-256 is stored.")

        @Option(help: "The agency's code, as `elicence agencies list` shows it.")
        var agency: String
        @Option(help: "Which window it is, for the list (e.g. 3号窗口).")
        var label: String
        @Flag(help: "Print {\"id\", \"agency\", \"label\", \"credential\", \"createdAt\"} as JSON.")
        var json = false
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let code = agency.trimmingWhitespace().uppercased()
            let label = label.trimmingWhitespace()
            guard !label.isEmpty else { throw CLIError.badInput("--label must not be empty; say which window it is, e.g. 3号窗口") }
            guard label.count <= 100 else { throw CLIError.badInput("--label is \(label.count) characters; at most 100") }
            let secret = WindowSecret.generateCredential()
            let (credential, agency) = try await registry.withRegistry { registry in
                let agency = try await WindowsCommand.agency(code, in: registry)
                if let revokedAt = agency.revokedAt {
                    throw CLIError.badInput("--agency: agency \(agency.code) \(agency.name) was revoked at \(Timestamp.format(revokedAt)); a revoked agency's windows cannot sign in")
                }
                let credential = try await registry.addWindowCredential(agencyCode: agency.code, label: label,
                                                                        hash: WindowSecret.hash(secret), now: SystemClock().now)
                return (credential, agency)
            }
            if json {
                try Terminal.printJSON(NewCredential(id: credential.id, agency: agency.code, label: credential.label, credential: secret,
                                                     createdAt: Timestamp.format(credential.createdAt)))
                return
            }
            print("Window credential \(credential.id) for \(agency.code) \(agency.name), \(credential.label) (shown once; only its SHA-256 is kept):")
            print(secret)
            print("Type it on that window's service-window page under 窗口登录 · Sign in. `elicence windows revoke \(credential.id)` withdraws it.")
        }

        struct NewCredential: Encodable {
            var id: Int64
            var agency: String
            var label: String
            var credential: String
            var createdAt: String
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List window credentials, active and revoked.")

        @Option(help: "Only this agency's.")
        var agency: String?
        @Flag(help: "Print JSON.")
        var json = false
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let code = agency.map { $0.trimmingWhitespace().uppercased() }
            let (credentials, agencies) = try await registry.withRegistry { registry in
                if let code { _ = try await WindowsCommand.agency(code, in: registry) }
                let agencies = Dictionary(try await registry.agencies().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
                return (try await registry.windowCredentials(agencyCode: code), agencies)
            }
            try Table.list(credentials.map { CredentialRow($0, agency: agencies[$0.agencyCode]) }, json: json,
                           empty: "No window credentials. Make one with `elicence windows add --agency CODE --label TEXT`.",
                           header: ["ID", "AGENCY", "NAME", "LABEL", "STATE", "SINCE"]) { row in
                [String(row.id), row.agency, row.agencyName ?? "", row.label,
                 row.revokedAt.map { "revoked " + $0 } ?? (row.active ? "active" : "agency revoked"), row.createdAt]
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a window credential; the windows signed in with it are signed out at their next request.")

        @Argument(help: ArgumentHelp("The credential's ID, as `elicence windows list` shows it.", valueName: "ID"))
        var id: String
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            guard let number = Int64(id.trimmingWhitespace()), number > 0 else {
                throw CLIError.badInput("ID: \"\(id)\" is not a window credential ID; expected a number, as `elicence windows list` shows it")
            }
            let credential = try await registry.withRegistry { try await $0.revokeWindowCredential(id: number, now: SystemClock().now) }
            print("Window credential \(credential.id) (\(credential.label)) of agency \(credential.agencyCode) is revoked; its sessions end now.")
        }
    }

    /// The agency with this code, revoked or not, or bad input that says where the codes are listed.
    static func agency(_ code: String, in registry: any Registry) async throws -> Agency {
        guard let agency = try await registry.agencies().first(where: { $0.code == code }) else {
            var message = "--agency: no agency \(code) in the registry; `elicence agencies list` shows them"
            do { _ = try HolderCode(code, kind: .creditCode) } catch { message += " (\(error.message))" }
            throw CLIError.badInput(message)
        }
        return agency
    }
}

/// A window credential as `windows list` shows it; times in ISO 8601. It is active while neither it
/// nor its agency is revoked.
struct CredentialRow: Encodable {
    var id: Int64
    var agency: String
    var agencyName: String?
    var label: String
    var createdAt: String
    var revokedAt: String?
    var active: Bool

    init(_ credential: WindowCredential, agency: Agency?) {
        id = credential.id
        self.agency = credential.agencyCode
        agencyName = agency?.name
        label = credential.label
        createdAt = Timestamp.format(credential.createdAt)
        revokedAt = credential.revokedAt.map(Timestamp.format)
        active = credential.revokedAt == nil && agency?.isActive == true
    }
}
