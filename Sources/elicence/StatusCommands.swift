import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceServer
import LicenceStore

/// The shared body of revoke, suspend and reinstate.
struct StatusChangeOptions: ParsableArguments {
    @Argument(help: "The licence identifier (1.2.156.3005.2....).")
    var id: String

    @Option(help: "Why the status changes; kept in the licence's history.")
    var reason: String

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var actor: ActorOption

    func change(to status: LicenceStatus) async throws {
        let identifier = try LicenceIdentifier.argument(id)
        let changed = try await registry.withRegistry { registry in
            try await registry.changeStatus(id: identifier, to: status, reason: reason, actor: actor.name, now: SystemClock().now)
        }
        print("\(changed.id): \(changed.status.rawValue) (\(changed.status.chineseName))")
    }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a licence (吊销). Final: a revoked licence stays revoked.")
    @OptionGroup var options: StatusChangeOptions
    func run() async throws { try await options.change(to: .revoked) }
}

struct SuspendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend", abstract: "Suspend a valid licence (中止) until it is reinstated.")
    @OptionGroup var options: StatusChangeOptions
    func run() async throws { try await options.change(to: .suspended) }
}

struct ReinstateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reinstate", abstract: "Make a suspended licence valid again.")
    @OptionGroup var options: StatusChangeOptions
    func run() async throws { try await options.change(to: .valid) }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one licence of the registry, with its status history.")

    @Argument(help: "The licence identifier.")
    var id: String

    @Flag(help: "Print the licence JSON (with id, version, status, issuedAt, token) and its history.")
    var json = false

    @Flag(help: "Print only its token (EL1:…), e.g. to hand to a verifier: elicence show ID --token > token.txt")
    var token = false

    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        if json && token { throw ValidationError("--json and --token contradict each other: --token prints the token alone") }
    }

    struct Shown: Encodable {
        var licence: LicenceJSON
        var history: [StatusEvent]
    }

    func run() async throws {
        let identifier = try LicenceIdentifier.argument(id)
        let found = try await registry.withRegistry { registry -> (StoredLicence, [StatusEvent])? in
            guard let stored = try await registry.licence(id: identifier) else { return nil }
            return (stored, try await registry.statusEvents(licenceID: identifier))
        }
        guard let (stored, history) = found else {
            throw CLIError.badInput("no licence \(identifier) in the registry; `elicence list --holder-code CODE` finds a holder's licences")
        }
        if json {
            try Terminal.printJSON(Shown(licence: LicenceJSON(stored), history: history))
            return
        }
        if token {
            print(stored.token)
            return
        }
        let licence = stored.licence
        var rows: [(String, String)] = [
            ("电子证照标识 id", stored.id.description),
            ("状态 status", "\(stored.status.rawValue) \(stored.status.chineseName)"),
            ("证照名称 type", "\(licence.typeName) (\(licence.typeCode))"),
            ("证照编号 number", licence.number),
            ("持证主体 holder", "\(licence.holder.name) (\(licence.holder.code.value), \(licence.holder.code.kind.chineseName))"),
            ("颁证单位 issuer", "\(licence.issuer.name) (\(licence.issuer.code))"),
            ("有效期 validity", "\(licence.validFrom) – \(licence.validUntil?.description ?? "长期 open-ended")"),
            ("签发 issued", "\(Timestamp.format(stored.issuedAt)), key \(stored.kid)"),
        ]
        if let matter = licence.relatedMatter { rows.append(("关联事项 related matter", matter)) }
        if let next = stored.supersededBy { rows.append(("新版本 superseded by", next)) }
        for (name, value) in licence.fields.sorted(by: { $0.key < $1.key }) { rows.append((name, value)) }
        let width = rows.map { Table.displayWidth($0.0) }.max() ?? 0
        for (name, value) in rows {
            print(name + String(repeating: " ", count: width - Table.displayWidth(name) + 2) + value)
        }
        print("\nHistory:")
        for event in history {
            print("  \(Timestamp.format(event.at))  \(event.status.rawValue)  \(event.actor)  \(event.reason)")
        }
        print("\nToken:\n\(stored.token)")
        if let uri = (try? LicenceToken.decode(stored.token))?.claims.status?.uri, let base = StatusListURI.publicURL(of: uri) {
            print("\nService-window link (opens the page at \(base)/ and verifies this licence):")
            print(ServiceWindowLink.make(publicURL: base, token: stored.token))
        }
    }
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List licences; --holder-code finds every licence of one holder (一号).")

    @Option(help: "Only this holder's licences (credit code or citizen ID number).")
    var holderCode: String?
    @Option(name: .customLong("type"), help: "Only licences of this type.")
    var typeCode: String?
    @Option(help: "Only licences with this status: valid, suspended, revoked, superseded.")
    var status: LicenceStatus?
    @Option(help: "At most this many licences.")
    var limit: Int = 1000
    @Flag(help: "Accept a holder credit code whose check character is wrong (early pilot codes).")
    var allowBadChecksum = false
    @Flag(help: "Print the licence JSON of each, one per line (JSONL).")
    var json = false

    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000000") }
    }

    func run() async throws {
        var holder: String?
        if let holderCode {
            do { holder = try HolderCode.lookup(holderCode.trimmingWhitespace(), allowBadChecksum: allowBadChecksum).value } catch {
                throw CLIError.badInput("--holder-code: \(error.message)")
            }
        }
        let filter = LicenceFilter(holderCode: holder, typeCode: typeCode?.uppercased(), status: status, limit: limit)
        let licences = try await registry.withRegistry { try await $0.licences(filter) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for stored in licences {
                FileHandle.standardOutput.write(try encoder.encode(LicenceJSON(stored)) + Data("\n".utf8))
            }
            return
        }
        guard !licences.isEmpty else {
            print("No licences match.")
            return
        }
        Table.print(header: ["ID", "TYPE", "NUMBER", "HOLDER", "STATUS", "VALID UNTIL"], rows: licences.map { stored in
            [stored.id.description, stored.licence.typeName, stored.licence.number,
             "\(stored.licence.holder.name) \(stored.licence.holder.code.value)", stored.status.rawValue,
             stored.licence.validUntil?.description ?? "长期"]
        })
    }
}

extension LicenceStatus: ExpressibleByArgument {}

struct StatusListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status-list", abstract: "Signed status lists for offline verifiers.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every status list as a signed CWT (status-list-<n>.cwt), signed by the status key.",
            discussion: "Verifiers pass the files to `elicence verify --status-list FILE|DIR`.")

        @Option(help: ArgumentHelp("The directory to write to.", valueName: "DIR"))
        var out: String
        @Option(help: "How long verifiers may cache a list, in seconds (the ttl claim).")
        var ttl: Int64 = 3600
        @Option(help: "Hours until the exported lists expire (the exp claim).")
        var validHours: Int64 = 24

        @OptionGroup var keys: KeyOptions
        @OptionGroup var registry: RegistryOptions

        func validate() throws {
            guard (1...604_800).contains(ttl) else { throw ValidationError("--ttl must be from 1 to 604800 seconds") }
            guard (1...8760).contains(validHours) else { throw ValidationError("--valid-hours must be from 1 to 8760") }
        }

        func run() async throws {
            let lists = try await registry.withRegistry { try await $0.statusLists() }
            let entry = try keys.store.activeKey(role: .status)
            let signer = try keys.store.privateKey(for: entry, passphrase: try keys.passphrase()).signer
            do { try FileIO.createDirectory(out, mode: 0o755) } catch { throw CLIError.badInput("--out: \(error.message)") }
            let now = SystemClock().now
            for snapshot in lists {
                let token = StatusListToken(uri: snapshot.uri, issuedAt: now, expires: now + validHours * 3600, ttl: ttl,
                                            list: snapshot.list)
                let path = (out.hasSuffix("/") ? String(out.dropLast()) : out) + "/status-list-\(snapshot.number).cwt"
                do { try FileIO.writeAtomically(try token.signed(with: signer), to: path, mode: 0o644) } catch let error as FileError {
                    throw CLIError.badInput("--out: \(error.message)")
                }
                print("\(path)  \(snapshot.uri)  \(snapshot.used) licences")
            }
            if lists.isEmpty { print("The registry has no status lists yet: issue a licence first.") }
        }
    }
}
