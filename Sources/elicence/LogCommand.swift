import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceLog
import LicenceStore

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "The transparency log of every issuance and status change: audit it, or follow it as a monitor.",
        subcommands: [Audit.self, Verify.self]
    )

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the registry against its log: every licence and status event logged once, in order; the stored tree and every checkpoint agree with the leaves.",
            discussion: "Exits 0 when they agree, 1 naming the first difference.")

        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let summary = try await registry.withRegistry { registry in
                do { return try await LogAudit.run(registry) } catch let difference as LogAudit.Difference {
                    throw CLIError(exitCode: CLIError.notValid, message: "log audit: \(difference.description)")
                }
            }
            print("""
                The log agrees with the registry: \(summary.leaves) leaves for \(summary.events) status events of \(summary.licences) \
                licences, \(summary.checkpoints) checkpoints; root \(Data(summary.root).base64EncodedString())
                """)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Monitor a log: verify its checkpoint, the entries and tiles added since the last run, and consistency with the checkpoint seen last.",
            discussion: """
                URL is the log's prefix, e.g. https://licence.example.gov.cn/v1/log. The checkpoint must be signed by \
                a key of role log in the trust list (--keys DIR); what the monitor has seen is kept in --state DIR. \
                It reports licences signed by a key after that key was declared compromised, and licences signed by \
                a key the trust list does not hold. Exits 0 when all is well, 1 on any inconsistency or report.
                """)

        @Option(help: ArgumentHelp("The log's URL prefix.", valueName: "URL"))
        var url: String
        @Option(help: ArgumentHelp("A directory of the monitor's own, kept between runs.", valueName: "DIR"))
        var state: String
        @Option(help: "Seconds to wait for each request.")
        var timeout: Int64 = 30

        @OptionGroup var keys: KeyOptions

        func validate() throws {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("--url must be an http:// or https:// URL") }
            guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be from 1 to 600 seconds") }
        }

        func run() async throws {
            let monitor = LogMonitor(prefix: url.hasSuffix("/") ? String(url.dropLast()) : url, stateDirectory: state,
                                     trust: try keys.store.loadDocument(), timeout: .seconds(timeout))
            let result = try await monitor.run()
            for line in result.lines { print(line) }
            for problem in result.problems { Terminal.error(problem) }
            if !result.problems.isEmpty { throw ExitCode(CLIError.notValid) }
        }
    }
}
