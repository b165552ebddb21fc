import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceServer
import LicenceStore
import Logging
import Metrics
import Prometheus

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service: verification API, registry API, status lists, trust list, service-window page.",
        discussion: """
            --demo builds a fresh demonstration registry under ./data/demo (wiped at each start) with demo keys, \
            licence types, a few hundred sample licences and a demo agency key, and serves it; it never touches \
            ./Keys or the default database. SIGTERM or SIGINT stops the service gracefully.
            """
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.")
    var port: Int = 8080
    @Flag(help: "Serve a freshly built demonstration registry under ./data/demo.")
    var demo = false
    @Option(help: "Verifications per minute allowed to one anonymous client address (0: no limit).")
    var anonymousRate: Int = 60
    @Option(name: .customLong("trusted-proxy"), parsing: .upToNextOption,
            help: "Addresses of reverse proxies whose X-Forwarded-For names the real client (for the anonymous rate limit).")
    var trustedProxies: [String] = []
    @Option(help: "Most tokens in one batch verification.")
    var maxBatch: Int = 1000
    @Option(help: "Verified tokens remembered so that a token shown again skips its signature check (0: none).")
    var signatureCacheSize: Int = 100_000
    @Option(help: "Seconds a connection may stay silent, mid-request or between requests, before it is closed.")
    var idleTimeout: Int = 30
    @Option(help: "Days usage records are kept.")
    var usageRetentionDays: Int = 180
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @OptionGroup var keys: KeyOptions
    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard anonymousRate >= 0 else { throw ValidationError("--anonymous-rate must be 0 or more") }
        guard (1...100_000).contains(maxBatch) else { throw ValidationError("--max-batch must be from 1 to 100000") }
        guard (0...10_000_000).contains(signatureCacheSize) else {
            throw ValidationError("--signature-cache-size must be from 0 to 10000000")
        }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be from 1 to 3600 seconds") }
        guard (1...3650).contains(usageRetentionDays) else { throw ValidationError("--usage-retention-days must be from 1 to 3650") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
    }

    func run() async throws {
        var keyStore = keys.store
        var location = try registry.location
        var passphrase = try keys.passphrase()
        if demo {
            // Tokens name their status list by URL: a wildcard address is no place to fetch one from.
            let reachable = ["0.0.0.0", "::", "[::]"].contains(host) ? "127.0.0.1" : host.contains(":") ? "[\(host)]" : host
            let built = try DemoRegistry(directory: "./data/demo", publicURL: "http://\(reachable):\(port)").build()
            keyStore = KeyStore(directory: built.keys)
            location = .sqlite(path: built.database)
            passphrase = nil
            built.printSummary(host: host, port: port)
        }
        var password: String?
        if case .postgres = location { password = try registry.password() }

        // Process-wide logging and metrics are set up here only, never in tests.
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
        // PostgreSQL connection events: warnings (a lost LISTEN connection, say) unless more is asked for.
        var databaseLogger = Logger(label: "elicence.postgres")
        databaseLogger.logLevel = level < .info ? level : max(level, .warning)

        let store: any Registry
        do { store = try location.open(password: password, create: demo, logger: databaseLogger) } catch {
            throw CLIError.map(registry: error)
        }
        let statusSigner: (any Signer)? = try {
            guard let entry = try? keyStore.activeKey(role: .status) else { return nil }
            return try keyStore.privateKey(for: entry, passphrase: passphrase).signer
        }()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        var logger = Logger(label: "elicence")
        logger.logLevel = level
        if statusSigner == nil {
            logger.warning("no active status key in \(keyStore.directory): /v1/status-lists answers 503")
        }

        var settings = ServerSettings()
        settings.host = host
        settings.port = port
        settings.anonymousVerificationsPerMinute = anonymousRate
        settings.trustedProxies = trustedProxies
        settings.maxBatch = maxBatch
        settings.signatureCacheSize = signatureCacheSize
        settings.usageRetentionDays = usageRetentionDays
        settings.idleTimeout = idleTimeout
        let app = try buildApplication(ServerDependencies(settings: settings, registry: store, keys: keyStore,
                                                          statusSigner: statusSigner, metrics: metrics, logger: logger))
        try await app.runService()
    }
}
