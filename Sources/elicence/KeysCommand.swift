import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and manage signing keys and the trust list.",
        subcommands: [Generate.self, List.self, Retire.self, Compromise.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key pair: a private key file (0600) and an entry in trust-list.json.",
            discussion: """
                The private key is written as PKCS#8 PEM to DIR/private/<kid>.key.pem. It is encrypted \
                when a passphrase is given in ELICENCE_KEY_PASSPHRASE or with --passphrase-file.
                """
        )

        @Option(help: "Signature algorithm: sm2 (SM2 with SM3), es256 (ECDSA P-256) or ed25519.")
        var alg: SignatureAlgorithm = .sm2

        @Option(help: """
            issuer signs licences; status signs status lists; anchor signs the authority's trust list; \
            log signs the transparency log's checkpoints (ed25519 only).
            """)
        var role: KeyRole = .issuer

        @Option(help: "The agency's unified social credit code (统一社会信用代码).")
        var issuerCode: String

        @Option(help: "The agency's name, e.g. 福州市市场监督管理局.")
        var issuerName: String

        @Option(help: "Years the key may be used for.")
        var validYears: Int = 5

        @Option(help: ArgumentHelp("""
            The end of the key's period of use instead of --valid-years: a day (YYYY-MM-DD, the end of that day             in China time) or an RFC 3339 time. Licences signed after it are key_not_valid.
            """, valueName: "DATE|TIME"))
        var notAfter: String?

        @Flag(help: "Accept an issuer code whose check character is wrong (early pilot codes).")
        var allowBadChecksum = false

        @Flag(help: "Print the new key as JSON.")
        var json = false

        @OptionGroup var keys: KeyOptions

        func validate() throws {
            guard (1...30).contains(validYears) else {
                throw ValidationError("--valid-years must be from 1 to 30, not \(validYears)")
            }
            guard !issuerName.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--issuer-name must not be empty")
            }
            if let notAfter, Self.parseEnd(notAfter) == nil {
                throw ValidationError("--not-after \(notAfter) is neither a day (YYYY-MM-DD) nor an RFC 3339 time")
            }
            if role == .log && alg != .edDSA {
                throw ValidationError("--role log signs checkpoints as C2SP signed notes, which take Ed25519: give --alg ed25519")
            }
        }

        func run() async throws {
            let code: HolderCode
            do { code = try HolderCode(issuerCode, kind: .creditCode, allowBadChecksum: allowBadChecksum) } catch {
                throw CLIError.badInput("--issuer-code: \(error.message)")
            }
            if code.checksumWaived {
                Terminal.warning("--issuer-code \(code.value) fails the GB 32100 check; accepted because of --allow-bad-checksum")
            }
            let entry = try keys.store.generate(
                algorithm: alg, role: role, issuer: Issuer(code: code.value, name: issuerName.trimmingCharacters(in: .whitespaces)),
                validYears: validYears, notAfter: notAfter.flatMap(Self.parseEnd), passphrase: try keys.passphrase(),
                now: SystemClock().now)
            if json {
                try Terminal.printJSON(entry)
            } else {
                print("""
                    Created \(entry.alg) \(entry.role.rawValue) key \(entry.kid) for \(entry.issuer.name) (\(entry.issuer.code))
                      valid:       \(entry.notBefore) – \(entry.notAfter)
                      private key: \(keys.store.privateKeyPath(kid: entry.kid)) (mode 0600\(try keys.passphrase() == nil ? ", not encrypted" : ", encrypted"))
                      trust list:  \(keys.store.trustListPath)
                    """)
            }
        }

        /// The end of a day in China time (its last second), or an RFC 3339 time.
        static func parseEnd(_ text: String) -> Int64? {
            if let time = Timestamp.parse(text) { return time }
            guard let day = try? CalendarDate(parsing: text) else { return nil }
            return day.adding(days: 1).startInChina - 1
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys of the trust list with their periods of use.")

        @Flag(help: "Print the trust list entries as JSON.")
        var json = false

        @OptionGroup var keys: KeyOptions

        func run() async throws {
            let document = try keys.store.loadDocument(mustExist: false)
            try Table.list(document.keys, json: json,
                           empty: "No keys in \(keys.store.trustListPath). Create one with `elicence keys generate`.",
                           header: ["KID", "ALG", "ROLE", "STATE", "FROM", "UNTIL", "ISSUER"]) { entry in
                [entry.kid, entry.alg, entry.role.rawValue, entry.state.rawValue, entry.notBefore, entry.notAfter,
                 "\(entry.issuer.code) \(entry.issuer.name)"]
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop signing with a key; the licences it signed stay verifiable.")

        @Argument(help: "The key's kid (16 hex digits).")
        var kid: String

        @OptionGroup var keys: KeyOptions

        func run() async throws {
            let entry = try keys.store.setState(kid: kid, to: .retired)
            print("Key \(entry.kid) is retired: it signs nothing new; its licences stay valid.")
        }
    }

    struct Compromise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare a key compromised: every licence it signed becomes invalid.")

        @Argument(help: "The key's kid (16 hex digits).")
        var kid: String

        @OptionGroup var keys: KeyOptions

        func run() async throws {
            let entry = try keys.store.setState(kid: kid, to: .compromised)
            print("Key \(entry.kid) is compromised: every licence it signed now fails verification. "
                + "Publish the new trust list to verifiers and re-issue the licences with a new key.")
        }
    }
}

/// Plain column output for terminals, aligned by display width (CJK characters take two columns).
enum Table {
    /// A list command's output: JSON for scripts, a table for people, or a hint when there is nothing.
    static func list<T: Encodable>(_ items: [T], json: Bool, empty: String, header: [String],
                                   row: (T) -> [String]) throws {
        if json {
            try Terminal.printJSON(items)
        } else if items.isEmpty {
            Swift.print(empty)
        } else {
            print(header: header, rows: items.map(row))
        }
    }

    static func print(header: [String], rows: [[String]]) {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], displayWidth(cell)) }
        }
        for row in all {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - displayWidth(cell) + 2) }
            }
            Swift.print(line)
        }
    }

    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            width + ((0x1100...0x115f).contains(scalar.value) || (0x2e80...0xa4cf).contains(scalar.value)
                || (0xac00...0xd7a3).contains(scalar.value) || (0xf900...0xfaff).contains(scalar.value)
                || (0xfe30...0xfe4f).contains(scalar.value) || (0xff00...0xff60).contains(scalar.value)
                || (0xffe0...0xffe6).contains(scalar.value) || (0x20000...0x3fffd).contains(scalar.value) ? 2 : 1)
        }
    }
}
