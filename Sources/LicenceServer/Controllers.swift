import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore
import Metrics
import NIOCore
import Prometheus

/// JSON in and out.
enum JSONBody {
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Reads the body (up to `limit` bytes) as `T`: a syntax error is 400, a wrong shape 422, both
    /// naming the problem.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem.bodyTooLarge(limit)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw Problem.invalidJSON(JSONErrors.describe(error))
            }
            throw Problem.invalidRequest(JSONErrors.describe(error))
        }
    }
}

struct VerifyRequest: Decodable { var token: String }
struct BatchRequest: Decodable { var tokens: [String] }
struct BatchAnswer: Encodable { var results: [VerificationReport] }
struct HolderLookupRequest: Decodable { var holderCode: String }

/// `POST /v1/verify` and `POST /v1/verify/batch`.
struct VerificationController: Sendable {
    let registry: SQLiteRegistry
    let trust: TrustSource
    let recorder: UsageRecorder
    let limiter: RateLimiter
    let settings: ServerSettings

    var verifier: Verifier {
        Verifier(trustStore: trust.current.list, statusSource: RegistryStatusSource(registry: registry), clock: WallClock())
    }

    func verify(_ request: Request, context: ServerContext) async throws -> Response {
        if context.agency == nil, let wait = limiter.take(context.remoteAddress) {
            throw Problem.rateLimited(retryAfter: wait)
        }
        let body = try await JSONBody.decode(VerifyRequest.self, from: request, limit: 64 * 1024)
        let result = verifier.verify(body.token)
        VerificationMetrics.count(result)
        if let agency = context.agency {
            recorder.record(usage(result, agency: agency, cause: request.useCause))
        }
        return try JSONBody.response(VerificationReport(result))
    }

    func batch(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let body = try await JSONBody.decode(BatchRequest.self, from: request, limit: settings.maxBodyBytes)
        guard body.tokens.count <= settings.maxBatch else { throw Problem.batchTooLarge(body.tokens.count, settings.maxBatch) }
        let verifier = self.verifier
        let results = body.tokens.concurrentMap { verifier.verify($0) }
        results.forEach(VerificationMetrics.count)
        let cause = request.useCause
        recorder.record(results.map { usage($0, agency: agency, cause: cause) })
        return try JSONBody.response(BatchAnswer(results: results.map(VerificationReport.init)))
    }

    private func usage(_ result: VerificationResult, agency: Agency, cause: String?) -> UsageRecord {
        UsageRecord(agency: agency.code, licence: result.claims?.identifier.description, action: .verify, cause: cause,
                    outcome: result.outcome.code, at: WallClock().now)
    }
}

enum VerificationMetrics {
    static func count(_ result: VerificationResult) {
        Counter(label: "elicence_verifications_total", dimensions: [("outcome", result.outcome.code)]).increment()
    }
}

/// A licence as an agency may see it: always whether it is valid; the details only where the type's
/// sharing level and the agency's grants allow.
struct LicenceRead: Encodable {
    var id: String
    var type: String
    var typeName: String
    var status: LicenceStatus
    var valid: Bool
    var sharing: LicenceType.Sharing
    var detailsShared: Bool
    var licence: LicenceJSON?
}

struct HolderLookupAnswer: Encodable {
    var holderCode: String
    var licences: [LicenceRead]
}

struct UsageAnswer: Encodable {
    var licence: String
    var records: [UsageRecord]
}

/// `GET /v1/licences/{id}`, `POST /v1/holders/licences`, `GET /v1/licences/{id}/usage`.
struct RegistryController: Sendable {
    let registry: SQLiteRegistry
    let recorder: UsageRecorder

    func licence(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let id = try context.parameters.require("id")
        let now = WallClock().now
        guard let stored = try registry.licence(id: id) else {
            recorder.record(UsageRecord(agency: agency.code, licence: id, action: .read, cause: request.useCause,
                                        outcome: "not_found", at: now))
            throw Problem.notFound("licence \(id)")
        }
        let read = try view(stored, for: agency, now: now)
        recorder.record(UsageRecord(agency: agency.code, licence: id, action: .read, cause: request.useCause,
                                    outcome: read.detailsShared ? "details" : "status_only", at: now))
        return try JSONBody.response(read)
    }

    func holder(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let body = try await JSONBody.decode(HolderLookupRequest.self, from: request, limit: 4096)
        let code = body.holderCode.trimmingCharacters(in: .whitespaces).uppercased()
        guard (8...32).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw Problem.invalidRequest("holderCode must be a credit code or citizen ID number (8 to 32 letters and digits)")
        }
        let now = WallClock().now
        let reads = try registry.licences(LicenceFilter(holderCode: code, limit: 1000)).map { try view($0, for: agency, now: now) }
        recorder.record(reads.map {
            UsageRecord(agency: agency.code, licence: $0.id, action: .holderLookup, cause: request.useCause,
                        outcome: $0.detailsShared ? "details" : "status_only", at: now)
        })
        return try JSONBody.response(HolderLookupAnswer(holderCode: code, licences: reads))
    }

    func usage(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let id = try context.parameters.require("id")
        guard let stored = try registry.licence(id: id) else { throw Problem.notFound("licence \(id)") }
        guard try view(stored, for: agency, now: WallClock().now).detailsShared else {
            throw Problem(.forbidden, "not-shared", zh: "本部门无权查看该证照的用证记录。",
                          en: "This agency may not read this licence's usage records.")
        }
        recorder.flush()
        let records = try registry.usage(licenceID: id, agencyCode: nil, limit: 1000)
        recorder.record(UsageRecord(agency: agency.code, licence: id, action: .usageRead, cause: request.useCause,
                                    outcome: "details", at: WallClock().now))
        return try JSONBody.response(UsageAnswer(licence: id, records: records))
    }

    /// What `agency` may see of `stored`.
    func view(_ stored: StoredLicence, for agency: Agency, now: Int64) throws -> LicenceRead {
        let type = try registry.type(code: stored.licence.typeCode)
        let sharing = type?.sharing ?? LicenceType.Sharing.none
        let shared: Bool
        switch sharing {
        case .unconditional: shared = true
        case .conditional: shared = agency.grants.contains(stored.licence.typeCode)
        case .none: shared = false
        }
        let today = CalendarDate(chinaDayOf: now)
        let inPeriod = stored.licence.validFrom <= today && (stored.licence.validUntil.map { today <= $0 } ?? true)
        return LicenceRead(id: stored.id.description, type: stored.licence.typeCode, typeName: stored.licence.typeName,
                           status: stored.status, valid: stored.status == .valid && inPeriod, sharing: sharing,
                           detailsShared: shared, licence: shared ? LicenceJSON(stored) : nil)
    }
}

/// Status lists, trust list, health, metrics, documentation and the page.
struct PublicController: Sendable {
    let registry: SQLiteRegistry
    let trust: TrustSource
    let statusSigner: (any Signer)?
    let metrics: PrometheusCollectorRegistry
    let settings: ServerSettings

    func statusList(_ request: Request, context: ServerContext) async throws -> Response {
        guard let number = Int64(try context.parameters.require("n")) else { throw Problem.notFound(request.uri.path) }
        guard let snapshot = try registry.statusLists().first(where: { $0.number == number }) else {
            throw Problem.notFound("status list \(number)")
        }
        guard let signer = statusSigner else {
            throw Problem(.serviceUnavailable, "no-status-key", zh: "服务未配置状态列表签名密钥。",
                          en: "The service has no status-list signing key.")
        }
        let now = WallClock().now
        let token = StatusListToken(uri: snapshot.uri, issuedAt: now, expires: now + settings.statusListValidity,
                                    ttl: settings.statusListTTL, list: snapshot.list)
        return Response(status: .ok, headers: [.contentType: StatusListToken.mediaType,
                                               .cacheControl: "max-age=\(settings.statusListTTL)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try token.signed(with: signer))))
    }

    func trustList(_ request: Request, context: ServerContext) async throws -> Response {
        try JSONBody.response(trust.current.document)
    }

    func health(_ request: Request, context: ServerContext) async throws -> Response {
        try JSONBody.response(["status": "ok"])
    }

    func ready(_ request: Request, context: ServerContext) async throws -> Response {
        do {
            _ = try registry.types()
            _ = trust.current
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
                 body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.json(RouteTable.api, settings: settings))))
    }

    func page(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8",
                                        .contentSecurityPolicy: "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:"],
                 body: .init(byteBuffer: ByteBuffer(string: ServiceWindowPage.html)))
    }
}

/// The wall clock, in Unix seconds.
struct WallClock: LicenceClock {
    var now: Int64 { Int64(Date().timeIntervalSince1970) }
}
