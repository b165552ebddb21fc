import Crypto
import Hummingbird
import Synchronization
import LicenceCore
import LicenceCrypto
import LicenceStore
import NIOCore
import Prometheus

/// Status lists, trust list, health, metrics, documentation and the page.
struct PublicController: Sendable {
    /// How long a signed status list is served before it is made again, in seconds.
    static let statusListReuse: Int64 = 5
    let statusLists = ShortCache<Int64, [UInt8]?>(lifetime: statusListReuse)
    let signed = SignedStatusLists()
    /// The OpenAPI document, made once from the route table.
    let openAPIDocument: [UInt8]
    let registry: any Registry
    let trust: TrustSource
    let statusSigner: (any Signer)?
    let metrics: PrometheusCollectorRegistry
    let settings: ServerSettings
    let signedTrustList: SignedTrustListPublisher

    func statusList(_ request: Request, context: ServerContext) async throws -> Response {
        guard let number = Int64(try context.parameters.require("n")) else {
            throw Problem.notFound(zh: "状态列表编号应为整数。", request.uri.path)
        }
        guard let signer = statusSigner else {
            throw Problem(.serviceUnavailable, "no-status-key", zh: "服务未配置状态列表签名密钥。",
                          en: "The service has no status-list signing key.")
        }
        let now = SystemClock().now
        let (registry, settings) = (self.registry, self.settings)
        // A signed list is reused for a few seconds, so that requests for it cannot keep the server busy.
        let signed = self.signed
        let bytes = try await statusLists.value(for: number, now: now) { () async throws -> [UInt8]? in
            guard let snapshot = try await registry.statusList(number: number) else { return nil }
            return try signed.bytes(number: number, uri: snapshot.uri, list: snapshot.list, now: now,
                                    validity: settings.statusListValidity) { issuedAt in
                try StatusListToken(uri: snapshot.uri, issuedAt: issuedAt, expires: issuedAt + settings.statusListValidity,
                                    ttl: settings.statusListTTL, list: snapshot.list).signed(with: signer)
            }
        }
        guard let bytes else { throw Problem.notFound(zh: "没有第 \(number) 号状态列表。", "status list \(number)") }
        return EntityTag.response(request, bytes: bytes, type: StatusListToken.mediaType,
                                  headers: [.cacheControl: "max-age=\(settings.statusListTTL)"])
    }

    func trustList(_ request: Request, context: ServerContext) async throws -> Response {
        EntityTag.response(request, bytes: try JSONBody.encoded(await trust.current().document),
                           type: "application/json; charset=utf-8", headers: [.cacheControl: "no-cache"])
    }

    func signedTrustList(_ request: Request, context: ServerContext) async throws -> Response {
        let document = await trust.current().document
        guard let bytes = try await signedTrustList.current(document, now: SystemClock().now) else {
            throw Problem(.serviceUnavailable, "no-anchor-key", zh: "服务未配置信任列表签名（锚）密钥。",
                          en: "The service has no anchor key to sign its trust list with.")
        }
        return Response(status: .ok, headers: [.contentType: SignedTrustList.mediaType, .cacheControl: "max-age=300"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Liveness: a constant answer, built once (the trivial route every other cost is measured against).
    static let healthBody = ByteBuffer(string: #"{"status":"ok"}"#)

    func health(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.healthBody))
    }

    func ready(_ request: Request, context: ServerContext) async throws -> Response {
        do {
            _ = try await registry.types()
            _ = await trust.current()
            return try JSONBody.response(["status": "ready"])
        } catch {
            throw Problem.unavailable
        }
    }

    func metricsText(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
    }

    func openAPI(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: openAPIDocument)))
    }
}

/// Signed status lists, kept while their bits are unchanged and more than half their validity is
/// left: the same list is the same bytes, so its entity tag holds and a polling verifier is
/// answered 304. A change of the bits, or age, signs a new one.
final class SignedStatusLists: Sendable {
    private let entries = Mutex<[Int64: (digest: [UInt8], issuedAt: Int64, bytes: [UInt8])]>([:])

    func bytes(number: Int64, uri: String, list: StatusList, now: Int64, validity: Int64,
               sign: (Int64) throws -> [UInt8]) throws -> [UInt8] {
        let digest = Array(SHA256.hash(data: Array(uri.utf8) + [0] + list.bytes))
        if let entry = entries.withLock({ $0[number] }), entry.digest == digest, now - entry.issuedAt < validity / 2 {
            return entry.bytes
        }
        let bytes = try sign(now)
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll() }
            entries[number] = (digest, now, bytes)
        }
        return bytes
    }
}
