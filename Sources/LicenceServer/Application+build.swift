import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore
import Logging

/// Builds the application `elicence serve` runs, so that tests can build the same one.
public func buildApplication(_ dependencies: ServerDependencies) throws -> some ApplicationProtocol {
    let settings = dependencies.settings
    let trust = try TrustSource(keys: dependencies.keys, logger: dependencies.logger)
    let recorder = UsageRecorder(registry: dependencies.registry, retentionDays: settings.usageRetentionDays,
                                 logger: dependencies.logger)
    let feed = try dependencies.registry.makeStatusFeed()
    let statuses = try StatusIndex(feed: feed, logger: dependencies.logger)
    let router = buildRouter(dependencies, trust: trust, recorder: recorder, statuses: statuses,
                             agencies: AgencyDirectory(registry: dependencies.registry, feed: feed))
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(Int64(dependencies.settings.idleTimeout)))),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "elicence"),
        services: [recorder],
        onServerRunning: { channel in
            dependencies.logger.info("serving", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        },
        logger: dependencies.logger
    )
}

func buildRouter(_ dependencies: ServerDependencies, trust: TrustSource, recorder: UsageRecorder,
                 statuses: StatusIndex, agencies: AgencyDirectory) -> Router<ServerContext> {
    let settings = dependencies.settings
    let router = Router(context: ServerContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ProblemMiddleware(routes: RouteTable.api))
    router.add(middleware: AgencyAuthenticationMiddleware(agencies: agencies))

    let cache = settings.signatureCacheSize > 0 ? SignatureCache(capacity: settings.signatureCacheSize) : nil
    let verification = VerificationController(statuses: statuses, cache: cache,
                                              trust: trust, recorder: recorder,
                                              limiter: RateLimiter(perMinute: settings.anonymousVerificationsPerMinute,
                                                                   trustedProxies: Set(settings.trustedProxies)),
                                              settings: settings)
    let registry = RegistryController(registry: dependencies.registry, recorder: recorder, trust: trust)
    let open = PublicController(openAPIDocument: OpenAPIDocument.json(RouteTable.api, settings: settings),
                                registry: dependencies.registry, trust: trust, statusSigner: dependencies.statusSigner,
                                metrics: dependencies.metrics, settings: settings)
    for route in RouteTable.api.routes {
        let handler: @Sendable (Request, ServerContext) async throws -> Response
        switch (route.method, route.path) {
        case (.get, "/"): handler = open.page
        case (.post, "/v1/verify"): handler = verification.verify
        case (.post, "/v1/verify/batch"): handler = verification.batch
        case (.get, "/v1/licences/{id}"): handler = registry.licence
        case (.get, "/v1/licences/{id}/usage"): handler = registry.usage
        case (.post, "/v1/holders/licences"): handler = registry.holder
        case (.get, "/v1/status-lists/{n}"): handler = open.statusList
        case (.get, "/v1/trust-list"): handler = open.trustList
        case (.get, "/healthz"): handler = open.health
        case (.get, "/readyz"): handler = open.ready
        case (.get, "/metrics"): handler = open.metricsText
        case (.get, "/openapi.json"): handler = open.openAPI
        default: preconditionFailure("route \(route.method) \(route.path) has no handler")
        }
        router.on(RouterPath(route.path), method: route.method, use: handler)
    }
    return router
}
