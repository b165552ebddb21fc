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
            holderCodeType,validFrom,validUntil, optionally relatedMatter, and one field:NAME column per field):
              elicence issue --batch licences.csv
            Issuer and number identify a licence: issuing it again with the same content does nothing; with \
            different content it is refused unless --new-version supersedes the old one. A batch commits every \
            --batch-size lines, reports each failed line, and exits 2 if any line failed. With --progress jsonl it \
            writes one JSON line to standard error after each transaction commits: {"firstLine", "lastLine", \
            "failedLines", "issued", "unchanged", "done", "total"}; every line from firstLine to lastLine that is not \
            in failedLines is then in the registry.
            --invite makes a one-time enrolment code (绑定码) for the holder of each licence once it is in the registry, \
            with its wallet link <public URL>/wallet#enrol=<code>: printed after a single licence; for a batch, one \
            code per holder, written with every line of that holder to FILE.invites.csv or FILE.invites.jsonl \
            (--invites PATH): line, id, number, holderCode, holderName, enrolmentCode, enrolmentLink, \
            enrolmentExpiresAt.
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
    @Option(help: "关联事项, the related matter: free text kept in the registry and shown to agencies, not put in the token.")
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
    @Option(help: """
        The registry's public address, base of the status-list URIs in tokens (default: ELICENCE_PUBLIC_URL, else the \
        registry's public-url setting, else http://127.0.0.1:8080).
        """)
    var publicURL: String?
    @Option(help: "Sign with this key (16 hex digits).")
    var kid: String?
    @Option(help: "Sign with the newest active key of this algorithm.")
    var alg: SignatureAlgorithm?
    @Flag(help: "Print the issued licence as JSON (single licence).")
    var json = false
    @Flag(help: "Make a one-time enrolment code for the wallet of each holder issued to (see below).")
    var invite = false
    @Option(help: ArgumentHelp("Days until the enrolment codes of --invite expire, from 1 to 90.", valueName: "N"))
    var inviteValidDays: Int = EnrolmentInvite.defaultValidDays
    @Option(help: ArgumentHelp("Where a batch with --invite writes its enrolment codes (default: FILE.invites.csv for a CSV file, else FILE.invites.jsonl).",
                               valueName: "PATH"))
    var invites: String?

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
        guard EnrolmentInvite.validDays.contains(inviteValidDays) else {
            throw ValidationError("--invite-valid-days must be from 1 to 90; got \(inviteValidDays)")
        }
        if inviteValidDays != EnrolmentInvite.defaultValidDays && !invite {
            throw ValidationError("--invite-valid-days goes with --invite")
        }
        if invites != nil && (!invite || batch == nil) { throw ValidationError("--invites PATH goes with --batch FILE and --invite") }
    }

    /// The public URL: --public-url, else ELICENCE_PUBLIC_URL, else the registry's setting, else the
    /// default, with a warning on a terminal (a token is signed once and names it for ever).
    func publicURL(in registry: any Registry) async throws -> String {
        let choice = PublicURLChoice(option: publicURL, environment: ProcessInfo.processInfo.environment["ELICENCE_PUBLIC_URL"],
                                     registry: try await registry.setting(.publicURL))
        if choice.source == .fallback && isatty(STDERR_FILENO) == 1 {
            Terminal.warning("""
                tokens will name their status list at \(choice.url), this host's loopback address, and a token is signed once: \
                set the service's public address first with `elicence registry set public-url URL` (or --public-url, ELICENCE_PUBLIC_URL)
                """)
        }
        return choice.url
    }

    func run() async throws {
        let entry = try keys.store.activeKey(role: .issuer, algorithm: alg, kid: kid)
        let key = try keys.store.privateKey(for: entry, passphrase: try keys.passphrase())
        try await registry.withRegistry(create: true) { registry in
            let catalogue = Dictionary(try await registry.types().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
            let issuance = Issuance(registry: registry, catalogue: catalogue, issuer: entry.issuer, signer: key.signer,
                                    publicURL: try await publicURL(in: registry), actor: actor.name, newVersion: newVersion,
                                    allowBadChecksum: allowBadChecksum)
            let invitations = invite ? Invitations(registry: registry, publicURL: try await WalletPublicURL.choose(option: publicURL, registry: registry),
                                                   validDays: inviteValidDays) : nil
            if let batch {
                var run = BatchIssuance(issuance: issuance, path: batch, format: format, batchSize: batchSize,
                                        reportPath: errors ?? batch + ".errors.jsonl", progress: progress)
                if let invitations {
                    run.invitations = invitations
                    run.invitesPath = invites ?? batch + (BatchReader.isCSV(path: batch, format: format) ? ".invites.csv" : ".invites.jsonl")
                }
                try await run.run()
            } else {
                try await issueOne(issuance, invitations: invitations)
            }
        }
    }

    private func issueOne(_ issuance: Issuance, invitations: Invitations?) async throws {
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
            let outcomes = try await issuance.issue([licence])
            outcome = outcomes[0]
            for note in outcomes.notes[0] {
                Terminal.warning(Self.optionMessage(LicenceCoreError(.invalidField, field: note.field, note.message)))
            }
        }
        switch outcome {
        case .failed(let error):
            throw CLIError.badInput(Self.optionMessage(error))
        case .issued(let stored), .unchanged(let stored):
            // The licence is in the registry now: its holder's enrolment code may be made.
            var invitations = invitations
            let invite = try await invitations?.invite(for: stored.licence.holder.code.value)
            if json {
                try Terminal.printJSON(IssuedLicence(licence: LicenceJSON(stored), invite: invite))
                return
            }
            if case .unchanged = outcome {
                Terminal.warning("licence \(stored.licence.number) was issued before with the same content (now \(stored.status.rawValue)); nothing was written")
            }
            print(stored.id)
            print(stored.token)
            if let invite { print(invite.summary) }
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

/// The licence JSON of a single `issue --json`, with `enrolmentCode`, `enrolmentLink` and
/// `enrolmentExpiresAt` added under `--invite`.
struct IssuedLicence: Encodable {
    var licence: LicenceJSON
    var invite: EnrolmentInvite?

    enum CodingKeys: String, CodingKey { case enrolmentCode, enrolmentLink, enrolmentExpiresAt }

    func encode(to encoder: any Encoder) throws {
        try licence.encode(to: encoder)
        guard let invite else { return }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(invite.code, forKey: .enrolmentCode)
        try container.encode(invite.link, forKey: .enrolmentLink)
        try container.encode(Timestamp.format(invite.expiresAt), forKey: .enrolmentExpiresAt)
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

    /// Reads one licence JSON against the key's issuer and the catalogue (``IssuePlanner``).
    func prepare(_ document: LicenceDocument) -> Result<Licence, LicenceCoreError> {
        IssuePlanner.licence(from: document, catalogue: catalogue, issuer: issuer, allowBadChecksum: allowBadChecksum)
    }

    func issue(_ licences: [Licence]) async throws -> IssueOutcomes {
        try await registry.issue(licences.map { IssueRequest(licence: $0, newVersion: newVersion) }, signer: signer,
                                 publicURL: publicURL, actor: actor, now: SystemClock().now)
    }
}
