import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

extension LicenceType.HolderKind: ExpressibleByArgument {}
extension LicenceType.Sharing: ExpressibleByArgument {}

struct TypesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "The licence-type catalogue (目录).",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a licence type.",
            discussion: """
                Example: elicence types add --code 11100000000013338W011 --name 营业执照 --holder-kind enterprise \
                --sharing unconditional --field 注册资本 法定代表人 经营范围? --disclose 法定代表人 --validity-years 20
                A field name ending in ? is optional; the others must be given at issuance.
                """
        )

        @Option(help: "The authority's credit code and a 3-digit sequence, e.g. 11100000000013338W011.")
        var code: String

        @Option(help: "The licence name, e.g. 营业执照.")
        var name: String

        @Option(help: "Who holds it: enterprise (credit code) or citizen (ID number).")
        var holderKind: LicenceType.HolderKind

        @Option(help: "unconditional (无条件共享), conditional (有条件共享) or none (不予共享).")
        var sharing: LicenceType.Sharing

        @Option(name: .customLong("field"), parsing: .upToNextOption, help: "Extension fields; NAME? is optional.")
        var fields: [String] = []

        @Option(name: .customLong("disclose"), parsing: .upToNextOption, help: "Fields put in the QR token.")
        var disclosed: [String] = []

        @Option(help: "Default validity in years (none: open-ended).")
        var validityYears: Int?

        @Flag(help: "Accept an authority code whose check character is wrong (early pilot codes).")
        var allowBadChecksum = false

        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let type = LicenceType(
                code: code.uppercased(), name: name.trimmingCharacters(in: .whitespaces), holderKind: holderKind, sharing: sharing,
                fields: fields.map { $0.hasSuffix("?") ? .init(name: String($0.dropLast()), required: false) : .init(name: $0) },
                disclosed: disclosed, validityYears: validityYears)
            do { try type.validate(allowBadChecksum: allowBadChecksum) } catch {
                let option = ["validityYears": "validity-years"][error.field ?? "code"] ?? error.field ?? "code"
                throw CLIError.badInput("--\(option): \(error.message)")
            }
            try await registry.withRegistry(create: true) { try await $0.addType(type, now: SystemClock().now) }
            print("Added licence type \(type.code) \(type.name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the licence types.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            try Table.list(try await registry.withRegistry { try await $0.types() }, json: json, empty: "No licence types yet. Add one with `elicence types add`.",
                           header: ["CODE", "NAME", "HOLDER", "SHARING", "VALIDITY", "FIELDS (* disclosed)"]) { type in
                [type.code, type.name, type.holderKind.rawValue, type.sharing.rawValue,
                 type.validityYears.map { "\($0) years" } ?? "open-ended",
                 type.fields.map { ($0.required ? $0.name : $0.name + "?") + (type.disclosed.contains($0.name) ? "*" : "") }
                    .joined(separator: " ")]
            }
        }
    }
}
