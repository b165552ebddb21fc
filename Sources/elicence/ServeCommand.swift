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
            licence types, a few hundred sample licences, a demo agency key and a demo citizen's wallet enrolment \
            link, and serves it; it never touches ./Keys or the default database. SIGTERM or SIGINT stops the service gracefully.
            """
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.")
    var port: Int = 8080
    @Flag(help: "Serve a freshly built demonstration registry under ./data/demo.")
    var demo = false
    @Option(help: ArgumentHelp("""
        With --demo: fujian (the default demo, under ./data/demo) or zhejiang, a second authority under ./data/demo-zhejiang \
        that imports the first one's signed trust list from --demo-peer.
        """, valueName: "PROVINCE"))
    var demoProvince: String = "fujian"
    @Option(help: ArgumentHelp("With --demo-province zhejiang: where the first demo serves.", valueName: "URL"))
    var demoPeer: String = "http://127.0.0.1:8080"
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
    @Option(help: "Most connections to PostgreSQL for queries (a command line uses 4), beside the one that listens for changes.")
    var databasePool: Int = RegistryLocation.defaultPoolSize
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
    @Option(help: ArgumentHelp("The registry's address as others reach it, named in the signed trust list as the base of its status lists (or ELICENCE_PUBLIC_URL; default http://HOST:PORT).",
                               valueName: "URL"))
    var publicURL: String?
    @Option(help: ArgumentHelp("How often imported trust lists are fetched again (also on SIGHUP), e.g. 1h, 30m.", valueName: "DURATION"))
    var trustRefresh: DurationArgument = DurationArgument(seconds: 3600)
    @Option(help: ArgumentHelp("Validity of the signed trust list served at /v1/trust-list.cose, e.g. 7d.", valueName: "DURATION"))
    var trustListValidFor: DurationArgument = DurationArgument(seconds: TrustListExport.defaultValidity)
    @Option(help: ArgumentHelp("How long verifiers may keep a served status list before fetching it again (its ttl), e.g. 5m.",
                               valueName: "DURATION"))
    var statusListTTL: DurationArgument = DurationArgument(seconds: 300)
    @Option(help: ArgumentHelp("Time allowed to fetch another authority's status list, e.g. 5s.", valueName: "DURATION"))
    var statusFetchTimeout: DurationArgument = DurationArgument(seconds: 5)

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
        guard (1...1000).contains(databasePool) else { throw ValidationError("--database-pool must be from 1 to 1000") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        guard (1...86_400).contains(statusListTTL.seconds) else { throw ValidationError("--status-list-ttl must be from 1s to 1d") }
        guard ["fujian", "zhejiang"].contains(demoProvince) else { throw ValidationError("--demo-province is fujian or zhejiang") }
        guard trustRefresh.seconds >= 1 else { throw ValidationError("--trust-refresh must be at least 1s") }
        guard trustListValidFor.seconds >= 60 else { throw ValidationError("--trust-list-valid-for must be at least 60s") }
        guard (1...120).contains(statusFetchTimeout.seconds) else { throw ValidationError("--status-fetch-timeout must be from 1s to 120s") }
    }

    func run() async throws {
        var keyStore = keys.store
        var location = try registry.location
        var passphrase = try keys.passphrase()
        var demoURL: String?
        if demo {
            // Tokens name their status list by URL: a wildcard address is no place to fetch one from.
            let reachable = ["0.0.0.0", "::", "[::]"].contains(host) ? "127.0.0.1" : host.contains(":") ? "[\(host)]" : host
            demoURL = "http://\(reachable):\(port)"
            if demoProvince == "zhejiang" {
                let built = try await SecondDemoAuthority(directory: "./data/demo-zhejiang", publicURL: demoURL!, peer: demoPeer,
                                                          peerAnchor: "./data/demo/anchor.pem").build()
                keyStore = KeyStore(directory: built.keys)
                location = .sqlite(path: built.database)
                SecondDemoAuthority.printSummary(built, host: host, port: port, peer: demoPeer)
            } else {
                let built = try await DemoRegistry(directory: "./data/demo", publicURL: demoURL!).build()
                keyStore = KeyStore(directory: built.keys)
                location = .sqlite(path: built.database)
                built.printSummary(host: host, port: port)
            }
            passphrase = nil
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
        do { store = try await location.open(password: password, create: demo, poolSize: databasePool, logger: databaseLogger) } catch {
            throw CLIError.map(registry: error)
        }
        let statusSigner: (any Signer)? = try {
            guard let entry = try? keyStore.activeKey(role: .status) else { return nil }
            return try keyStore.privateKey(for: entry, passphrase: passphrase).signer
        }()
        let logKey: LogSigningKey? = try {
            guard let entry = try? keyStore.activeKey(role: .log) else { return nil }
            return LogSigningKey(signer: try keyStore.privateKey(for: entry, passphrase: passphrase).signer,
                                 publicKey: try PublicKeys.ed25519Raw(pem: entry.publicKey))
        }()
        let anchor: (entry: TrustListDocument.Entry, signer: any Signer)? = try {
            guard let entry = try? keyStore.activeKey(role: .anchor) else { return nil }
            return (entry, try keyStore.privateKey(for: entry, passphrase: passphrase).signer)
        }()
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        var logger = Logger(label: "elicence")
        logger.logLevel = level
        if statusSigner == nil {
            logger.warning("no active status key in \(keyStore.directory): /v1/status-lists answers 503")
        }
        if logKey == nil {
            logger.notice("no active log key in \(keyStore.directory): this server signs no checkpoints of the transparency log")
        }
        if anchor == nil {
            logger.notice("no active anchor key in \(keyStore.directory): /v1/trust-list.cose answers 503 (`elicence keys generate --role anchor` makes one)")
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
        settings.publicURL = publicURL ?? ProcessInfo.processInfo.environment["ELICENCE_PUBLIC_URL"] ?? demoURL ?? "http://\(host):\(port)"
        settings.trustRefreshInterval = .seconds(trustRefresh.seconds)
        settings.statusListTTL = statusListTTL.seconds
        settings.trustListValidity = trustListValidFor.seconds
        settings.foreignStatusTimeout = .seconds(statusFetchTimeout.seconds)
        let app = try await buildApplication(ServerDependencies(settings: settings, registry: store, keys: keyStore,
                                                          statusSigner: statusSigner, logKey: logKey, anchor: anchor, metrics: metrics,
                                                          logger: logger))
        try await app.runService()
    }
}
