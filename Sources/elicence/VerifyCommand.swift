import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a licence token offline against the trust list and the imported authorities' lists.",
        discussion: """
            A licence of another authority (imported with `trust import`) verifies against that authority's \
            keys, and its status against that authority's status list given with --status-list. \
            Exits 0 when the licence is valid, 1 when it is not (a token that cannot be read is not \
            valid), 2 when the check itself cannot run (no such file, unreadable trust list).
            """
    )

    @Argument(help: ArgumentHelp("The token (EL1:...), @FILE to read it from a file, or - for standard input.",
                                 valueName: "TOKEN|@FILE|-"))
    var token: String

    @Option(name: .customLong("status-list"),
            help: ArgumentHelp("A signed status list (from `status-list export`), or a directory of them; repeatable.",
                               valueName: "FILE|DIR"))
    var statusLists: [String] = []

    @Flag(help: "Treat an unchecked revocation status as not valid.")
    var requireStatus = false

    @Option(help: "Clock skew tolerated at the ends of the validity period, in seconds.")
    var skew: Int64 = 300

    @Flag(help: "Print the verdict as JSON.")
    var json = false

    @OptionGroup var keys: KeyOptions

    func validate() throws {
        guard (0...86_400).contains(skew) else { throw ValidationError("--skew must be from 0 to 86400 seconds") }
    }

    func run() async throws {
        let text = try readToken()
        let store = keys.store
        let (foreign, problems) = AuthorityDirectory(keys: store).trustedKeys()
        for problem in problems { Terminal.warning("imported authority: \(problem)") }
        // A verifier that only checks other authorities' licences may have no keys of its own.
        guard !foreign.isEmpty || FileManager.default.fileExists(atPath: store.trustListPath) else {
            throw CLIError.badInput("""
                no trust list at \(store.trustListPath). A verifier needs the issuing agency's current trust-list.json \
                (from the agency, or GET /v1/trust-list of its service): put it in a directory and give --keys DIR
                """)
        }
        let own = FileManager.default.fileExists(atPath: store.trustListPath) ? try store.trustList() : TrustList([])
        let trust = own.merging(foreign)
        let statusSource: any StatusSource = statusLists.isEmpty ? NoStatusSource() : StatusListSource(try loadStatusLists(trust))
        let verifier = Verifier(trustStore: trust, statusSource: statusSource, clock: SystemClock(), skew: skew,
                                requireStatus: requireStatus)
        let result = verifier.verify(text)
        let report = VerificationReport(result)
        if json {
            // The same bytes the server answers with (``VerificationReport/json``), one line.
            FileHandle.standardOutput.write(Data(report.json + [0x0a]))
        } else {
            print(Verdict.render(report, result: result))
        }
        if !result.valid { throw ExitCode(CLIError.notValid) }
    }

    /// Every status list named, each checked against the trust list's status keys.
    private func loadStatusLists(_ trust: TrustList) throws -> [StatusListToken] {
        var files: [String] = []
        for path in statusLists {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CLIError.badInput("--status-list: no such file or directory: \(path)")
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.filter { $0.hasSuffix(".cwt") }.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        return try files.map { file in
            let bytes: [UInt8]
            do throws(FileError) { bytes = try FileIO.read(file, limit: 2 << 20) } catch { throw CLIError.badInput("--status-list: \(error.message)") }
            do throws(StatusListToken.Failure) { return try StatusListToken.verify(bytes, trustStore: trust) } catch .unknownKey {
                throw CLIError.badInput("""
                    --status-list \(file) is signed by a status key that is not in \(keys.store.trustListPath): your trust list \
                    is older than the status list's key; fetch the issuer's current trust list (its trust-list.json, or \
                    GET /v1/trust-list of its service) and give its directory with --keys DIR
                    """)
            } catch {
                throw CLIError.badInput("--status-list \(file): \(error.description)")
            }
        }
    }

    private func readToken() throws -> String {
        let limit = LicenceToken.Limits().maxTextLength + 1024
        if token == "-" {
            return String(decoding: try InputFiles.read("-", limit: limit, what: "token"), as: UTF8.self)
        }
        if token.hasPrefix("@") {
            return String(decoding: try InputFiles.read(String(token.dropFirst()), limit: limit, what: "token file"), as: UTF8.self)
        }
        return token
    }
}

/// The readable verdict a person sees.
enum Verdict {
    static func render(_ report: VerificationReport, result: VerificationResult) -> String {
        var lines: [String] = []
        lines.append(report.valid ? "VALID 有效" : "NOT VALID 无效 (\(report.outcome))")
        lines.append("  \(report.message.zh)")
        lines.append("  \(report.message.en)")
        if report.valid && !report.statusChecked {
            lines.append("  Status not checked: no status list was given (未核验吊销/中止状态).")
        }
        if let authority = report.authority {
            lines.append("  Authority 认证机构: \(authority.displayName) (\(authority.code)), imported as \(authority.name)")
        }
        if let licence = report.licence {
            lines.append("")
            var rows: [(String, String)] = [
                ("证照名称 type", "\(licence.typeName) (\(licence.type))"),
                ("证照编号 number", licence.number),
                ("持证主体 holder", "\(licence.holder.name ?? "") (\(licence.holder.code ?? ""))"),
                ("颁证单位 issuer", "\(licence.issuer.name ?? "") (\(licence.issuer.code ?? ""))"),
                ("有效期 validity", "\(licence.validFrom) – \(licence.validUntil ?? "长期 open-ended")"),
                ("签发时间 issued", licence.issuedAt),
                ("电子证照标识 id", licence.id),
            ]
            if let alg = report.alg, let kid = report.kid {
                rows.append(("签名 signature", "\(alg), key \(kid)"))
            }
            for (name, value) in licence.fields.sorted(by: { $0.key < $1.key }) {
                rows.append((name, value))
            }
            let width = rows.map { Table.displayWidth($0.0) }.max() ?? 0
            for (name, value) in rows {
                lines.append("  " + name + String(repeating: " ", count: width - Table.displayWidth(name) + 2) + value)
            }
        }
        return lines.joined(separator: "\n")
    }
}
