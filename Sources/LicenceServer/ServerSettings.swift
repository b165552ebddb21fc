import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore
import Logging
import NIOCore
import Prometheus

/// Everything `elicence serve` can be told.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Verifications per minute allowed to one anonymous client address.
    public var anonymousVerificationsPerMinute = 60
    /// Addresses of reverse proxies whose `X-Forwarded-For` names the real client.
    public var trustedProxies: [String] = []
    /// Verified tokens remembered, so that a token shown again skips decoding and signature checking.
    public var signatureCacheSize = 100_000
    /// Most tokens in one `POST /v1/verify/batch`.
    public var maxBatch = 1000
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 1 << 20
    /// Seconds a connection may stay silent (a stalled client, mid-request or between requests)
    /// before it is closed.
    public var idleTimeout = 30
    /// Days usage records are kept before they are deleted.
    public var usageRetentionDays = 180
    /// `ttl` of served status lists, in seconds.
    public var statusListTTL: Int64 = 300
    /// Validity (`exp` − `iat`) of served status lists, in seconds.
    public var statusListValidity: Int64 = 3600
    /// The registry's address as other authorities reach it; the signed trust list names
    /// `<public URL>/v1/status-lists/` as where this registry's status lists live.
    public var publicURL = "http://127.0.0.1:8080"
    /// Validity (`exp` − `iat`) of the served signed trust list, in seconds (7 days).
    public var trustListValidity: Int64 = TrustListExport.defaultValidity
    /// How often imported trust lists are fetched again.
    public var trustRefreshInterval: Duration = .seconds(3600)
    /// Time allowed to fetch another authority's status list.
    public var foreignStatusTimeout: Duration = .seconds(5)

    public init() {}
}

/// What the application is built from: settings, storage, keys, and the metrics registry.
public struct ServerDependencies: Sendable {
    public var settings: ServerSettings
    public var registry: any Registry
    public var keys: KeyStore
    /// Signs served status lists; nil when the key directory has no active status key.
    public var statusSigner: (any Signer)?
    /// Signs the transparency log's checkpoints; nil when the key directory has no active log key
    /// (the server then serves the checkpoints other servers signed).
    public var logKey: LogSigningKey?
    /// The anchor key that signs `/v1/trust-list.cose`; nil when the key directory has none.
    public var anchor: (entry: TrustListDocument.Entry, signer: any Signer)?
    public var metrics: PrometheusCollectorRegistry
    public var logger: Logger

    public init(settings: ServerSettings, registry: any Registry, keys: KeyStore, statusSigner: (any Signer)?,
                logKey: LogSigningKey? = nil, anchor: (entry: TrustListDocument.Entry, signer: any Signer)? = nil,
                metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.settings = settings
        self.registry = registry
        self.keys = keys
        self.statusSigner = statusSigner
        self.logKey = logKey
        self.anchor = anchor
        self.metrics = metrics
        self.logger = logger
    }
}

/// The request context: the client's address and, once authenticated, its agency.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address as the request arrived, written out only by the routes that read it.
    private let remote: SocketAddress?
    public var remoteAddress: String { remote?.ipAddress ?? "unknown" }
    public var agency: Agency?
    /// The registry's change counter as read while authenticating this request, after it arrived;
    /// the status check reuses it rather than asking the registry a second time.
    var registryCounter: Int64?
    public var maxUploadSize: Int { 1 << 20 }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remote = source.channel.remoteAddress
    }
}
