import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

struct AgenciesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agencies", abstract: "Verifying agencies (用证部门) and their API keys.",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an agency and print its API key, once; only the key's SHA-256 is stored.")

        @Option(help: "The agency's unified social credit code.")
        var code: String
        @Option(help: "The agency's name.")
        var name: String
        @Option(name: .customLong("grant"), parsing: .upToNextOption,
                help: "Licence types of conditional sharing (有条件共享) whose details it may read.")
        var grants: [String] = []
        @Flag(help: "Accept a code whose check character is wrong (early pilot codes).")
        var allowBadChecksum = false

        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let holder: HolderCode
            do { holder = try HolderCode(code, kind: .creditCode, allowBadChecksum: allowBadChecksum) } catch {
                throw CLIError.badInput("--code: \(error.message)")
            }
            let name = name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw CLIError.badInput("--name must not be empty") }
            let key = AgencyKey.generate()
            try await registry.withRegistry(create: true) { store in
                for grant in grants where try await store.type(code: grant.uppercased()) == nil {
                    throw CLIError.badInput("--grant: licence type \(grant) is not in the catalogue; `elicence types list` shows it")
                }
                try await store.addAgency(Agency(code: holder.value, name: name, grants: grants.map { $0.uppercased() },
                                                 createdAt: SystemClock().now), keyHash: AgencyKey.hash(key))
            }
            print("Registered agency \(holder.value) \(name).")
            print("API key (shown once; store it safely): \(key)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the agencies.")
        @Flag(help: "Print JSON.")
        var json = false
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            try Table.list(try await registry.withRegistry { try await $0.agencies() }, json: json,
                           empty: "No agencies. Register one with `elicence agencies add`.",
                           header: ["CODE", "NAME", "STATE", "GRANTS", "SINCE"]) { agency in
                [agency.code, agency.name, agency.isActive ? "active" : "revoked " + Timestamp.format(agency.revokedAt!),
                 agency.grants.joined(separator: " "), Timestamp.format(agency.createdAt)]
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an agency's key; its next request is refused.")
        @Argument(help: "The agency's code.")
        var code: String
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let agency = try await registry.withRegistry { try await $0.revokeAgency(code: code.uppercased(), now: SystemClock().now) }
            print("Agency \(agency.code) \(agency.name) is revoked; its key is refused from now on.")
        }
    }
}

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Usage records (用证记录) of one licence or one agency.")

    @Option(help: "A licence identifier.")
    var licence: String?
    @Option(help: "An agency code.")
    var agency: String?
    @Option(help: "At most this many records, newest first.")
    var limit: Int = 1000
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        guard (licence == nil) != (agency == nil) else { throw ValidationError("give exactly one of --licence ID and --agency CODE") }
        guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000000") }
    }

    func run() async throws {
        var licenceID: String?
        if let licence {
            do { licenceID = try LicenceIdentifier(parsing: licence).description } catch {
                throw CLIError.badInput("--licence: \(error.message)")
            }
        }
        let records = try await registry.withRegistry { try await $0.usage(licenceID: licenceID, agencyCode: agency?.uppercased(), limit: limit) }
        try Table.list(records, json: json, empty: "No usage records.",
                       header: ["TIME", "AGENCY", "ACTION", "OUTCOME", "LICENCE", "CAUSE"]) { record in
            [Timestamp.format(record.at), record.agency, record.action.rawValue, record.outcome, record.licence ?? "-",
             record.cause ?? ""]
        }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Usage counts per agency and per licence type.")

    @Option(help: "Count from this day (YYYY-MM-DD, China time; default: 30 days ago).")
    var since: String?
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        let from: CalendarDate
        if let since {
            do { from = try CalendarDate(parsing: since) } catch { throw CLIError.badInput("--since: \(error.message)") }
        } else {
            from = Today.date.adding(days: -30)
        }
        let statistics = try await registry.withRegistry { try await $0.usageStatistics(since: from.startInChina) }
        if json {
            try Terminal.printJSON(statistics)
            return
        }
        print("Usage since \(from):\n")
        Table.print(header: ["AGENCY", "NAME", "USES"], rows: statistics.perAgency.map { [$0.code, $0.name, String($0.count)] })
        print("")
        Table.print(header: ["LICENCE TYPE", "NAME", "USES"], rows: statistics.perType.map { [$0.code, $0.name, String($0.count)] })
        if !statistics.perAuthority.isEmpty {
            print("")
            Table.print(header: ["OTHER AUTHORITY", "NAME", "USES"],
                        rows: statistics.perAuthority.map { [$0.code, $0.name, String($0.count)] })
        }
    }
}
