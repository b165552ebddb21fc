import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

struct IssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue licences into the registry: one from options, or many with --batch FILE.",
        discussion: """
            One licence:
              elicence issue --type 11100000000013338W011 --holder-code 91350100MA2Y01111F \\
                --holder-name 福州某某科技有限公司 --number 闽市监2026第000123号 --field 注册资本=100万元人民币
            In bulk, from JSONL (one licence JSON per line) or CSV (header: type,number,holderName,holderCode,\
            holderCodeType,validFrom,validUntil and one field:NAME column per field):
              elicence issue --batch licences.csv
            Issuer and number identify a licence: issuing it again with the same content does nothing; with \
            different content it is refused unless --new-version supersedes the old one. A batch commits every \
            --batch-size lines, reports each failed line, and exits 2 if any line failed. With --progress jsonl it \
            writes one JSON line to standard error after each transaction commits: {"firstLine", "lastLine", \
            "failedLines", "issued", "unchanged", "done", "total"}; every line from firstLine to lastLine that is not \
            in failedLines is then in the registry.
            """
    )

    enum BatchFormat: String, ExpressibleByArgument, CaseIterable { case jsonl, csv }
    enum ProgressMode: String, ExpressibleByArgument, CaseIterable { case auto, none, jsonl }

    @Option(help: "Licence type code (the type must be in the catalogue).")
    var type: String?
    @Option(help: "The holder's credit code or citizen ID number.")
    var holderCode: String?
    @Option(help: "The holder's name.")
    var holderName: String?
    @Option(help: "001 (credit code) or 111 (citizen ID); default from the type.")
    var holderCodeType: String?
    @Option(help: "The printed licence number (default: generated).")
    var number: String?
    @Option(help: "First valid day, YYYY-MM-DD (default: today, China time).")
    var validFrom: String?
    @Option(help: "Last valid day, YYYY-MM-DD (default: from the type's validity).")
    var validUntil: String?
    @Flag(help: "Valid with no end date (长期).")
    var openEnded = false
    @Option(name: .customLong("field"), parsing: .upToNextOption, help: ArgumentHelp("Extension fields.", valueName: "KEY=VALUE"))
    var fields: [String] = []
    @Option(help: "关联事项, the related matter.")
    var relatedMatter: String?

    @Option(help: ArgumentHelp("Issue every licence of a JSONL or CSV file.", valueName: "FILE"))
    var batch: String?
    @Option(help: "Format of the batch file (default: from its extension; .csv is CSV, anything else JSONL).")
    var format: BatchFormat?
    @Option(help: "Lines per transaction in a batch.")
    var batchSize: Int = 5000
    @Option(help: ArgumentHelp("Where to write the per-line error report (default: FILE.errors.jsonl).", valueName: "PATH"))
    var errors: String?
    @Option(help: """
        Progress of a batch on standard error: auto (a line that updates itself, on a terminal only), none, or \
        jsonl (one JSON line per committed transaction, for scripts).
        """)
    var progress: ProgressMode = .auto

    @Flag(help: "Supersede an existing licence with the same number whose content differs.")
    var newVersion = false
    @Flag(help: "Accept a holder credit code whose check character is wrong (early pilot codes).")
    var allowBadChecksum = false
    @Option(help: "The registry's public URL, base of the status-list URIs in tokens (or ELICENCE_PUBLIC_URL).")
    var publicURL: String?
    @Option(help: "Sign with this key (16 hex digits).")
    var kid: String?
    @Option(help: "Sign with the newest active key of this algorithm.")
    var alg: SignatureAlgorithm?
    @Flag(help: "Print the issued licence as JSON (single licence).")
    var json = false

    @OptionGroup var keys: KeyOptions
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var actor: ActorOption

    func validate() throws {
        let single = type != nil || holderCode != nil || holderName != nil || number != nil || !fields.isEmpty
        if batch != nil && single {
            throw ValidationError("--batch reads every licence from its file; it cannot be combined with --type, --holder-code, --field …")
        }
        if batch == nil {
            guard type != nil else { throw ValidationError("--type is required (or --batch FILE)") }
            guard holderCode != nil else { throw ValidationError("--holder-code is required") }
            guard holderName != nil else { throw ValidationError("--holder-name is required") }
        }
        if openEnded && validUntil != nil { throw ValidationError("--open-ended and --valid-until contradict each other") }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be from 1 to 10000") }
    }

    var resolvedPublicURL: String {
        publicURL ?? ProcessInfo.processInfo.environment["ELICENCE_PUBLIC_URL"] ?? "http://127.0.0.1:8080"
    }

    func run() async throws {
        let registry = try registry.open(create: true)
        let catalogue = Dictionary(try registry.types().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let entry = try keys.store.activeKey(role: .issuer, algorithm: alg, kid: kid)
        let key = try keys.store.privateKey(for: entry, passphrase: try keys.passphrase())
        let issuance = Issuance(registry: registry, catalogue: catalogue, issuer: entry.issuer, signer: key.signer,
                                publicURL: resolvedPublicURL, actor: actor.name, newVersion: newVersion,
                                allowBadChecksum: allowBadChecksum)
        if let batch {
            try await BatchIssuance(issuance: issuance, path: batch, format: format, batchSize: batchSize,
                                    reportPath: errors ?? batch + ".errors.jsonl", progress: progress).run()
        } else {
            try issueOne(issuance)
        }
    }

    private func issueOne(_ issuance: Issuance) throws {
        var extensionFields: [String: String] = [:]
        for pair in fields {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw CLIError.badInput("--field \"\(pair)\": expected KEY=VALUE")
            }
            let key = String(pair[..<equals])
            guard extensionFields[key] == nil else { throw CLIError.badInput("--field \(key) is given twice") }
            extensionFields[key] = String(pair[pair.index(after: equals)...])
        }
        let catalogueType = issuance.catalogue[type!.uppercased()]
        var random = SystemRandomNumberGenerator()
        let generatedNumber = Today.date.description.replacingOccurrences(of: "-", with: "")
            + String((0..<8).map { _ in Character(String(Int.random(in: 0...9, using: &random))) })
        let document = LicenceDocument(
            type: type!.uppercased(), typeName: catalogueType?.name ?? "-", number: number ?? generatedNumber,
            holder: .init(name: holderName, code: holderCode,
                          codeType: holderCodeType ?? catalogueType?.holderKind.holderCodeKind.rawValue),
            issuer: nil, validFrom: validFrom ?? Today.date.description,
            validUntil: openEnded ? .openEnded : validUntil.map { .date($0) } ?? .absent,
            relatedMatter: relatedMatter, fields: extensionFields)
        let outcome: IssueOutcome
        switch issuance.prepare(document) {
        case .failure(let error):
            throw CLIError.badInput(Self.optionMessage(error))
        case .success(let licence):
            outcome = try issuance.issue([licence])[0]
        }
        switch outcome {
        case .failed(let error):
            throw CLIError.badInput(Self.optionMessage(error))
        case .issued(let stored), .unchanged(let stored):
            if json {
                try Terminal.printJSON(LicenceJSON(stored))
                return
            }
            if case .unchanged = outcome {
                Terminal.warning("licence \(stored.licence.number) was issued before with the same content (now \(stored.status.rawValue)); nothing was written")
            }
            print(stored.id)
            print(stored.token)
        }
    }

    /// A licence-JSON path in terms of this command's options.
    static func optionMessage(_ error: LicenceCoreError) -> String {
        let options = ["type": "--type", "number": "--number", "holder.name": "--holder-name", "holder.code": "--holder-code",
                       "holder.codeType": "--holder-code-type", "validFrom": "--valid-from", "validUntil": "--valid-until",
                       "relatedMatter": "--related-matter"]
        guard let field = error.field else { return error.message }
        if let option = options[field] { return "\(option): \(error.message)" }
        if field.hasPrefix("fields.") { return "--field \(field.dropFirst(7)): \(error.message)" }
        return error.description
    }
}

/// What every issuance needs: the registry, its catalogue, the issuer's signer and the settings.
struct Issuance {
    let registry: any LicenceRegistry
    let catalogue: [String: LicenceType]
    let issuer: Issuer
    let signer: any Signer
    let publicURL: String
    let actor: String
    let newVersion: Bool
    let allowBadChecksum: Bool

    /// Validates one licence JSON against the key's issuer and the catalogue.
    func prepare(_ document: LicenceDocument) -> Result<Licence, LicenceCoreError> {
        var document = document
        if let code = document.type?.uppercased() {
            document.type = code
            guard let type = catalogue[code] else {
                return .failure(LicenceCoreError(.invalidField, field: "type",
                    "licence type \(code) is not in the catalogue; `elicence types list` shows it, `elicence types add` extends it"))
            }
            if document.typeName == nil || document.typeName == "-" { document.typeName = type.name }
            if document.holder?.codeType == nil { document.holder?.codeType = type.holderKind.holderCodeKind.rawValue }
        }
        let type = document.type.flatMap { catalogue[$0] }
        do {
            var licence = try document.validated(defaultIssuer: issuer, defaultValidUntil: { type?.defaultValidUntil(from: $0) },
                                                 allowBadChecksum: allowBadChecksum)
            if let type {
                licence.typeName = type.name
                try type.check(licence)
            }
            return .success(licence)
        } catch {
            return .failure(error)
        }
    }

    func issue(_ licences: [Licence]) throws -> [IssueOutcome] {
        try registry.issue(licences.map { IssueRequest(licence: $0, newVersion: newVersion) }, signer: signer,
                           publicURL: publicURL, actor: actor, now: SystemClock().now)
    }
}
