import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceServer

struct TrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Signed trust lists: publish this authority's, import other authorities' (跨省互认).",
        subcommands: [Export.self, Import.self, Refresh.self, List.self, Remove.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the trust list signed by the newest active anchor key (a COSE_Sign1).",
            discussion: """
                Every key of trust-list.json is in it, with the authority (the anchor key's agency), a sequence \
                that grows with every key change, and the base URL of this registry's status lists. \
                `elicence serve` also serves it at /v1/trust-list.cose, signed again before it lapses.
                """)

        @Option(help: ArgumentHelp("Where to write the signed list.", valueName: "FILE"))
        var out: String

        @Option(help: ArgumentHelp("How long the list is valid, e.g. 7d, 12h.", valueName: "DURATION"))
        var validFor: DurationArgument = DurationArgument(seconds: TrustListExport.defaultValidity)

        @Option(help: ArgumentHelp("The registry's public URL, base of its status lists (or ELICENCE_PUBLIC_URL).", valueName: "URL"))
        var publicURL: String?

        @OptionGroup var keys: KeyOptions

        func validate() throws {
            guard validFor.seconds >= 60 else { throw ValidationError("--valid-for must be at least 60s") }
        }

        func run() async throws {
            let export = TrustListExport(keys: keys.store)
            let anchor = try export.anchor(passphrase: try keys.passphrase())
            let url = publicURL ?? ProcessInfo.processInfo.environment["ELICENCE_PUBLIC_URL"] ?? "http://127.0.0.1:8080"
            let (list, bytes) = try export.signed(anchor: anchor, now: SystemClock().now, validity: validFor.seconds,
                                                  statusBase: TrustListExport.statusBase(publicURL: url))
            do { try FileIO.writeAtomically(bytes, to: out, mode: 0o644) } catch { throw CLIError.badInput("--out: \(error.message)") }
            print("""
                Wrote \(out) (\(bytes.count) bytes): the trust list of \(list.authorityName) (\(list.authorityCode))
                  sequence \(list.sequence), \(list.keys.count) keys, signed by anchor \(anchor.entry.kid) (\(anchor.entry.alg))
                  valid until \(Timestamp.format(list.expires)); status lists under \(list.statusBase)
                """)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import another authority's signed trust list, checked against its anchor key.",
            discussion: """
                The anchor is the authority's public key (SPKI PEM), obtained through an official channel, never \
                from the same server as the list. The list must verify against it and not have expired. It is kept \
                under DIR/authorities/NAME/; `trust refresh` and a running server (on its schedule and on SIGHUP) \
                fetch it again from the same place. Importing a name again replaces its anchors and source and keeps \
                its last sequence, so an older list stays refused.
                """)

        @Option(help: "A name for the authority: letters, digits, '.', '_', '-' (e.g. zhejiang).")
        var name: String

        @Option(parsing: .singleValue,
                help: ArgumentHelp("The authority's anchor public key (PEM); repeat while it replaces one anchor by another.",
                                   valueName: "PEM"))
        var anchor: [String]

        @Option(help: ArgumentHelp("Where to fetch its signed list, e.g. https://…/v1/trust-list.cose.", valueName: "URL"))
        var url: String?

        @Option(help: ArgumentHelp("A signed list received as a file.", valueName: "FILE"))
        var file: String?

        @OptionGroup var keys: KeyOptions

        func validate() throws {
            guard (url == nil) != (file == nil) else { throw ValidationError("give exactly one of --url URL and --file FILE") }
            guard !anchor.isEmpty else { throw ValidationError("give the authority's anchor public key with --anchor PEM") }
            do { try AuthorityDirectory.validate(name: name) } catch { throw ValidationError(error.message) }
        }

        func run() async throws {
            var pem = ""
            for path in anchor {
                let bytes: [UInt8]
                do { bytes = try FileIO.read(path, limit: 64 * 1024) } catch { throw CLIError.badInput("--anchor: \(error.message)") }
                pem += String(decoding: bytes, as: UTF8.self) + "\n"
            }
            let source = url ?? file!
            let bytes: [UInt8]
            do { bytes = try await AuthorityRefresh.fetch(source) } catch {
                throw CLIError.badInput("\(url == nil ? "--file" : "--url"): \(error.description)")
            }
            let directory = AuthorityDirectory(keys: keys.store)
            let absoluteFile = file.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
            let list = try directory.importAuthority(name: name, anchorPEM: pem, url: url, file: absoluteFile, bytes: bytes,
                                                     now: SystemClock().now)
            print("""
                Imported \(name): the trust list of \(list.authorityName) (\(list.authorityCode))
                  sequence \(list.sequence), \(list.keys.count) keys, valid until \(Timestamp.format(list.expires))
                  status lists under \(list.statusBase)
                  kept in \(directory.path(name))/
                A running server takes it on its next refresh, or at once on SIGHUP (kill -HUP PID).
                """)
        }
    }

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch imported trust lists again; a list that is refused leaves the last good one in force.",
            discussion: "Exits 1 when any list could not be refreshed.")

        @Argument(help: "The authorities to refresh (default: all).")
        var names: [String] = []

        @OptionGroup var keys: KeyOptions

        func run() async throws {
            let directory = AuthorityDirectory(keys: keys.store)
            let all = directory.names()
            for name in names where !all.contains(name) {
                throw CLIError.badInput("no imported authority \(name); `elicence trust list` shows them")
            }
            var failed = false
            for name in names.isEmpty ? all : names {
                switch await AuthorityRefresh.refresh(name, in: directory, now: { SystemClock().now }) {
                case .accepted(let list, let previous):
                    let change = previous == list.sequence ? "unchanged" : "from \(previous.map(String.init) ?? "none")"
                    print("\(name): accepted sequence \(list.sequence) (\(change)), \(list.keys.count) keys, valid until \(Timestamp.format(list.expires))")
                case .refused(let reason):
                    failed = true
                    Terminal.error("\(name): \(reason)")
                case .noSource:
                    print("\(name): no URL or file to refresh from")
                }
            }
            if failed { throw ExitCode(CLIError.notValid) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The imported authorities and their trust lists.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var keys: KeyOptions

        struct Row: Encodable {
            var name: String
            var authority: String?
            var authorityName: String?
            var sequence: UInt64?
            var keys: Int?
            var fetchedAt: String?
            var expires: String?
            var expired: Bool
            var source: String?
            var statusBase: String?
            var lastFailure: String?
            var lastFailureAt: String?
        }

        func run() async throws {
            let directory = AuthorityDirectory(keys: keys.store)
            let (authorities, problems) = directory.loadAll()
            let now = SystemClock().now
            let rows = authorities.map { authority in
                Row(name: authority.name, authority: authority.list?.authorityCode, authorityName: authority.list?.authorityName,
                    sequence: authority.list?.sequence, keys: authority.list?.keys.count, fetchedAt: authority.metadata.fetchedAt,
                    expires: authority.list.map { Timestamp.format($0.expires) }, expired: authority.list.map { now >= $0.expires } ?? true,
                    source: authority.metadata.url ?? authority.metadata.file, statusBase: authority.list?.statusBase,
                    lastFailure: authority.metadata.lastFailure, lastFailureAt: authority.metadata.lastFailureAt)
            }
            for problem in problems { Terminal.error(problem) }
            try Table.list(rows, json: json, empty: "No imported authorities. Import one with `elicence trust import`.",
                           header: ["NAME", "AUTHORITY", "SEQUENCE", "KEYS", "FETCHED", "EXPIRES", "LAST FAILURE"]) { row in
                [row.name, "\(row.authority ?? "-") \(row.authorityName ?? "")", row.sequence.map(String.init) ?? "-",
                 row.keys.map(String.init) ?? "-", row.fetchedAt ?? "-", (row.expires ?? "-") + (row.expired ? " (expired)" : ""),
                 row.lastFailure.map { "\(row.lastFailureAt ?? "") \($0)" } ?? "-"]
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop trusting an imported authority: its licences are no longer accepted.",
            discussion: "A running server drops it on its next refresh, or at once on SIGHUP.")

        @Argument(help: "The authority's name.")
        var name: String

        @OptionGroup var keys: KeyOptions

        func run() async throws {
            try AuthorityDirectory(keys: keys.store).remove(name: name)
            print("Removed \(name): its licences are no longer accepted.")
        }
    }
}
