import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

extension RegistrySetting: ExpressibleByArgument {}

struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Settings kept in the registry, shared by every host that uses it.",
        discussion: """
            public-url: the registry's public address as verifiers reach it. Tokens name their status list as \
            <URL>/v1/status-lists/<n> and a token is signed once, so set it before issuing real licences. \
            `issue` takes --public-url first, then ELICENCE_PUBLIC_URL, then this setting, then http://127.0.0.1:8080.
            """,
        subcommands: [SetSetting.self, UnsetSetting.self, ListSettings.self])

    struct SetSetting: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a registry setting.",
            discussion: "Example: elicence registry set public-url https://licences.example.gov.cn")

        @Argument(help: ArgumentHelp("The setting: \(RegistrySetting.allCases.map(\.rawValue).joined(separator: ", ")).",
                                     valueName: "NAME"))
        var name: RegistrySetting
        @Argument(help: "Its value.")
        var value: String
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let stored: String
            do { stored = try name.normalised(value) } catch { throw CLIError.map(registry: error) }
            try await registry.withRegistry(create: true) { try await $0.setSetting(name, to: stored, now: SystemClock().now) }
            print("\(name.rawValue) = \(stored)")
        }
    }

    struct UnsetSetting: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unset", abstract: "Remove a registry setting (its default applies again).")

        @Argument(help: ArgumentHelp("The setting.", valueName: "NAME"))
        var name: RegistrySetting
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            try await registry.withRegistry { try await $0.setSetting(name, to: nil, now: SystemClock().now) }
            print("\(name.rawValue) is not set")
        }
    }

    struct ListSettings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "settings", abstract: "List the registry settings.")

        @Flag(help: "Print JSON.")
        var json = false
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let values = try await registry.withRegistry { registry in
                var values: [(RegistrySetting, String?)] = []
                for setting in RegistrySetting.allCases { values.append((setting, try await registry.setting(setting))) }
                return values
            }
            if json {
                try Terminal.printJSON(Dictionary(uniqueKeysWithValues: values.compactMap { key, value in value.map { (key.rawValue, $0) } }))
                return
            }
            Table.print(header: ["SETTING", "VALUE", "WHAT"], rows: values.map { setting, value in
                [setting.rawValue, value ?? "(not set)", setting.summary]
            })
        }
    }
}
