import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore
import Logging
import ServiceLifecycle

/// Builds the application `elicence serve` runs, so that tests can build the same one. The
/// registry runs as a service of the application's group (first in, last out: pending usage records
/// are written before it stops), and every licence's status is loaded before the server answers.
public func buildApplication(_ dependencies: ServerDependencies) async throws -> some ApplicationProtocol {
    let settings = dependencies.settings
    let trust = try await TrustSource.load(keys: dependencies.keys, logger: dependencies.logger)
    let recorder = UsageRecorder(registry: dependencies.registry, retentionDays: settings.usageRetentionDays,
                                 logger: dependencies.logger)
    let statuses = StatusIndex(registry: dependencies.registry, logger: dependencies.logger)
    let checkpoints = LogCheckpointer(registry: dependencies.registry, key: dependencies.logKey, logger: dependencies.logger)
    let federation = Federation(keys: dependencies.keys, interval: settings.trustRefreshInterval, logger: dependencies.logger)
    await federation.load()
    let router = buildRouter(dependencies, trust: trust, recorder: recorder, statuses: statuses,
                             agencies: AgencyDirectory(registry: dependencies.registry, statuses: statuses), checkpoints: checkpoints,
                             federation: federation)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(Int64(dependencies.settings.idleTimeout)))),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "elicence"),
        services: [dependencies.registry, recorder, checkpoints, federation],
        onServerRunning: { channel in
            dependencies.logger.info("serving", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        },
        logger: dependencies.logger
    )
    app.beforeServerStarts { try await statuses.load() }
    return app
}

func buildRouter(_ dependencies: ServerDependencies, trust: TrustSource, recorder: UsageRecorder,
                 statuses: StatusIndex, agencies: AgencyDirectory, checkpoints: LogCheckpointer,
                 federation: Federation) -> Router<ServerContext> {
    let settings = dependencies.settings
    let router = Router(context: ServerContext.self)
    router.add(middleware: RequestTelemetryMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ProblemMiddleware(routes: RouteTable.api))
    router.add(middleware: AgencyAuthenticationMiddleware(agencies: agencies, registry: dependencies.registry))

    let cache = settings.signatureCacheSize > 0 ? SignatureCache(capacity: settings.signatureCacheSize) : nil
    let foreignStatus = ForeignStatusLists(timeout: settings.foreignStatusTimeout, logger: dependencies.logger)
    let verification = VerificationController(registry: dependencies.registry, statuses: statuses, cache: cache,
                                              trust: trust, federation: federation, foreignStatus: foreignStatus, recorder: recorder,
                                              checkpoints: checkpoints,
                                              limiter: RateLimiter(perMinute: settings.anonymousVerificationsPerMinute,
                                                                   trustedProxies: Set(settings.trustedProxies)),
                                              settings: settings)
    let registry = RegistryController(registry: dependencies.registry, recorder: recorder, trust: trust, statuses: statuses)
    let open = PublicController(openAPIDocument: OpenAPIDocument.json(RouteTable.api, settings: settings),
                                registry: dependencies.registry, trust: trust, statusSigner: dependencies.statusSigner,
                                metrics: dependencies.metrics, settings: settings,
                                signedTrustList: SignedTrustListPublisher(
                                    anchor: dependencies.anchor.map { .init(entry: $0.entry, signer: $0.signer) },
                                    validity: settings.trustListValidity,
                                    statusBase: TrustListExport.statusBase(publicURL: settings.publicURL)))
    let log = LogController(registry: dependencies.registry, checkpoints: checkpoints)
    let wallet = WalletController(registry: dependencies.registry, trustedProxies: Set(settings.trustedProxies))
    let window = WindowController(registry: dependencies.registry, agencies: agencies, settings: settings)
    let assets = StaticAssets()
    for route in RouteTable.api.routes {
        let handler: @Sendable (Request, ServerContext) async throws -> Response
        switch (route.method, route.path) {
        case (.post, "/v1/verify"): handler = verification.verify
        case (.post, "/v1/verify/batch"): handler = verification.batch
        case (.get, "/v1/licences/{id}"): handler = registry.licence
        case (.get, "/v1/licences/{id}/usage"): handler = registry.usage
        case (.post, "/v1/holders/licences"): handler = registry.holder
        case (.get, StatusListURI.route): handler = open.statusList
        case (.get, "/v1/licences/{id}/log-proof"): handler = log.proof
        case (.get, "/v1/log/checkpoint"): handler = log.checkpoint
        case (.get, "/v1/log/tile/{tile}"): handler = log.tile
        case (.post, "/v1/wallet/enrol"): handler = wallet.enrol
        case (.get, "/v1/wallet/licences"): handler = wallet.licences
        case (.get, "/v1/wallet/usage"): handler = wallet.usage
        case (.delete, "/v1/wallet/device"): handler = wallet.removeDevice
        case (.post, "/v1/window/session"): handler = window.signIn
        case (.get, "/v1/window/session"): handler = window.current
        case (.delete, "/v1/window/session"): handler = window.signOut
        case (.get, let path) where assets.assets[path] != nil: handler = assets.handler(path)
        case (.get, "/v1/trust-list"): handler = open.trustList
        case (.get, "/v1/trust-list.cose"): handler = open.signedTrustList
        case (.get, "/healthz"): handler = open.health
        case (.get, "/readyz"): handler = open.ready
        case (.get, "/metrics"): handler = open.metricsText
        case (.get, "/openapi.json"): handler = open.openAPI
        default: preconditionFailure("route \(route.method) \(route.path) has no handler")
        }
        router.on(RouterPath(route.routerPath ?? route.path), method: route.method, use: handler)
        // HEAD: the GET's answer; SecurityHeadersMiddleware drops its body.
        if route.method == .get { router.on(RouterPath(route.routerPath ?? route.path), method: .head, use: handler) }
    }
    return router
}
