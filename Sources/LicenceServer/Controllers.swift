import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// JSON in and out.
enum JSONBody {
    /// Bytes already in JSON.
    static func response(bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The body, read up to `limit` bytes.
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem.bodyTooLarge(limit)
        }
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Reads the body (up to `limit` bytes) as `T`: a syntax error is 400, a wrong shape 422, both
    /// naming the problem.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try decode(type, from: try await body(of: request, limit: limit))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
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
struct HolderLookupRequest: Decodable { var holderCode: String }

/// `POST /v1/verify` and `POST /v1/verify/batch`.
struct VerificationController: Sendable {
    let statuses: StatusIndex
    let cache: SignatureCache?
    let trust: TrustSource
    let recorder: UsageRecorder
    let limiter: RateLimiter
    let settings: ServerSettings

    /// The registry is asked for changes once a request (for a batch, before its first token), or
    /// not at all when authentication already read its change counter.
    func verifier(_ context: ServerContext) -> Verifier {
        Verifier(trustStore: trust.current.list, statusSource: statuses.refreshedOnce(counter: context.registryCounter),
                 clock: SystemClock(), cache: cache)
    }

    func verify(_ request: Request, context: ServerContext) async throws -> Response {
        if context.agency == nil,
           let wait = limiter.take(limiter.client(remoteAddress: context.remoteAddress, forwardedFor: request.forwardedFor)) {
            throw Problem.rateLimited(retryAfter: wait)
        }
        // The hot path reads the token and writes the answer without Foundation's JSON.
        let buffer = try await JSONBody.body(of: request, limit: 64 * 1024)
        let token = try RequestJSON.token(buffer.readableBytesView) ?? JSONBody.decode(VerifyRequest.self, from: buffer).token
        let result = verifier(context).verify(token)
        VerificationMetrics.count(result)
        if let agency = context.agency {
            recorder.record(usage(result, agency: agency, cause: request.useCause))
        }
        return JSONBody.response(bytes: VerificationReport(result).json)
    }

    func batch(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let buffer = try await JSONBody.body(of: request, limit: settings.maxBodyBytes)
        let tokens = try RequestJSON.tokens(buffer.readableBytesView) ?? JSONBody.decode(BatchRequest.self, from: buffer).tokens
        guard tokens.count <= settings.maxBatch else { throw Problem.batchTooLarge(tokens.count, settings.maxBatch) }
        let verifier = verifier(context)
        let answers = tokens.concurrentMap { token -> (VerificationResult, [UInt8]) in
            let result = verifier.verify(token)
            return (result, VerificationReport(result).json)
        }
        let cause = request.useCause
        recorder.record(answers.map { usage($0.0, agency: agency, cause: cause) })
        VerificationMetrics.count(answers.lazy.map(\.0))
        var bytes: [UInt8] = Array(#"{"results":["#.utf8)
        bytes.reserveCapacity(answers.reduce(16) { $0 + $1.1.count + 1 })
        for (index, answer) in answers.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: answer.1)
        }
        bytes.append(contentsOf: "]}".utf8)
        return JSONBody.response(bytes: bytes)
    }

    /// The record of one verification. It names the licence only when a trusted key's signature
    /// vouches for the identifier, so a forged token cannot write into a real licence's history.
    private func usage(_ result: VerificationResult, agency: Agency, cause: String?) -> UsageRecord {
        UsageRecord(agency: agency.code, licence: result.signingKey == nil ? nil : result.claims?.identifier.description,
                    action: .verify, cause: cause, outcome: result.outcome.code, at: SystemClock().now)
    }
}

enum VerificationMetrics {
    /// One counter per outcome, made once: looking a counter up in the metrics registry on every
    /// answer would cost more than the answer.
    private static let counters = Mutex<[String: Metrics.Counter]>([:])

    static func count(_ result: VerificationResult) {
        counter(result.outcome.code).increment()
    }

    /// A batch's results: one increment an outcome.
    static func count(_ results: some Sequence<VerificationResult>) {
        var tally: [String: Int] = [:]
        for result in results { tally[result.outcome.code, default: 0] += 1 }
        for (code, count) in tally { counter(code).increment(by: count) }
    }

    private static func counter(_ code: String) -> Metrics.Counter {
        counters.withLock { counters in
            if let counter = counters[code] { return counter }
            let counter = Metrics.Counter(label: "elicence_verifications_total", dimensions: [("outcome", code)])
            counters[code] = counter
            return counter
        }
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
    /// The licences whose details this agency may read.
    var licences: [LicenceRead]
    /// How many other licences the holder has that are not shared with this agency.
    var withheld: Int
    /// More licences exist than one answer lists.
    var truncated: Bool
}

struct UsageAnswer: Encodable {
    var licence: String
    var records: [UsageRecord]
}

/// `GET /v1/licences/{id}`, `POST /v1/holders/licences`, `GET /v1/licences/{id}/usage`.
struct RegistryController: Sendable {
    static let maxHolderLicences = 1000
    let registry: any Registry
    let recorder: UsageRecorder
    let trust: TrustSource

    func licence(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let id = try context.parameters.require("id")
        let now = SystemClock().now
        guard let stored = try registry.licence(id: id) else {
            recorder.record(UsageRecord(agency: agency.code, licence: id, action: .read, cause: request.useCause,
                                        outcome: "not_found", at: now))
            throw Problem.notFound("licence \(id)")
        }
        let read = try Viewer(registry: registry, trust: trust, agency: agency, now: now).view(stored)
        recorder.record(UsageRecord(agency: agency.code, licence: id, action: .read, cause: request.useCause,
                                    outcome: read.detailsShared ? "details" : "status_only", at: now))
        return try JSONBody.response(read)
    }

    func holder(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let body = try await JSONBody.decode(HolderLookupRequest.self, from: request, limit: 4096)
        let code = body.holderCode.trimmingCharacters(in: [" ", "\t"]).uppercased()
        guard (8...32).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw Problem.invalidRequest("holderCode must be a credit code or citizen ID number (8 to 32 letters and digits)")
        }
        let now = SystemClock().now
        let found = try registry.licences(LicenceFilter(holderCode: code, limit: Self.maxHolderLicences + 1))
        let viewer = try Viewer(registry: registry, trust: trust, agency: agency, now: now)
        let reads = found.prefix(Self.maxHolderLicences).map(viewer.view)
        // Only licences shared with this agency are listed: a holder number must not reveal, say, a
        // citizen's unshared licences; the rest are only counted.
        let shared = reads.filter(\.detailsShared)
        var records = shared.map {
            UsageRecord(agency: agency.code, licence: $0.id, action: .holderLookup, cause: request.useCause, outcome: "details", at: now)
        }
        if records.isEmpty {
            records.append(UsageRecord(agency: agency.code, licence: nil, action: .holderLookup, cause: request.useCause,
                                       outcome: reads.isEmpty ? "none_found" : "none_shared", at: now))
        }
        recorder.record(records)
        return try JSONBody.response(HolderLookupAnswer(holderCode: code, licences: shared, withheld: reads.count - shared.count,
                                                        truncated: found.count > Self.maxHolderLicences))
    }

    func usage(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let id = try context.parameters.require("id")
        guard let stored = try registry.licence(id: id) else { throw Problem.notFound("licence \(id)") }
        guard try Viewer(registry: registry, trust: trust, agency: agency, now: SystemClock().now).view(stored).detailsShared else {
            throw Problem(.forbidden, "not-shared", zh: "本部门无权查看该证照的用证记录。",
                          en: "This agency may not read this licence's usage records.")
        }
        // Records still waiting for the once-a-second write are included, newest first.
        let records = recorder.pendingRecords(licence: id).reversed() + (try registry.usage(licenceID: id, agencyCode: nil, limit: 1000))
        recorder.record(UsageRecord(agency: agency.code, licence: id, action: .usageRead, cause: request.useCause,
                                    outcome: "details", at: SystemClock().now))
        return try JSONBody.response(UsageAnswer(licence: id, records: Array(records.prefix(1000))))
    }
}

/// What one agency may see of licences, at one moment: the catalogue and the trust list are read
/// once, however many licences an answer holds.
struct Viewer {
    let types: [String: LicenceType]
    let trust: TrustList
    let agency: Agency
    let today: CalendarDate

    init(registry: any Registry, trust: TrustSource, agency: Agency, now: Int64) throws {
        types = Dictionary(try registry.types().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        self.trust = trust.current.list
        self.agency = agency
        today = CalendarDate(chinaDayOf: now)
    }

    func view(_ stored: StoredLicence) -> LicenceRead {
        let sharing = types[stored.licence.typeCode]?.sharing ?? LicenceType.Sharing.none
        let shared: Bool
        switch sharing {
        case .unconditional: shared = true
        case .conditional: shared = agency.grants.contains(stored.licence.typeCode)
        case .none: shared = false
        }
        let inPeriod = stored.licence.validFrom <= today && (stored.licence.validUntil.map { today <= $0 } ?? true)
        // A licence whose key is compromised, or no longer in the trust list, is not valid.
        let keyTrusted = trust.keys(kid: Hex.decode(stored.kid) ?? []).contains { $0.state != .compromised }
        return LicenceRead(id: stored.id.description, type: stored.licence.typeCode, typeName: stored.licence.typeName,
                           status: stored.status, valid: stored.status == .valid && inPeriod && keyTrusted, sharing: sharing,
                           detailsShared: shared, licence: shared ? LicenceJSON(stored) : nil)
    }
}

/// Status lists, trust list, health, metrics, documentation and the page.
struct PublicController: Sendable {
    /// How long a signed status list is served before it is made again, in seconds.
    static let statusListReuse: Int64 = 5
    let statusLists = ShortCache<Int64, [UInt8]?>(lifetime: statusListReuse)
    /// The OpenAPI document, made once from the route table.
    let openAPIDocument: [UInt8]
    let registry: any Registry
    let trust: TrustSource
    let statusSigner: (any Signer)?
    let metrics: PrometheusCollectorRegistry
    let settings: ServerSettings

    func statusList(_ request: Request, context: ServerContext) async throws -> Response {
        guard let number = Int64(try context.parameters.require("n")) else { throw Problem.notFound(request.uri.path) }
        guard let signer = statusSigner else {
            throw Problem(.serviceUnavailable, "no-status-key", zh: "服务未配置状态列表签名密钥。",
                          en: "The service has no status-list signing key.")
        }
        let now = SystemClock().now
        // A signed list is reused for a few seconds, so that requests for it cannot keep the server busy.
        let bytes = try statusLists.value(for: number, now: now) { () throws -> [UInt8]? in
            guard let snapshot = try registry.statusList(number: number) else { return nil }
            return try StatusListToken(uri: snapshot.uri, issuedAt: now, expires: now + settings.statusListValidity,
                                       ttl: settings.statusListTTL, list: snapshot.list).signed(with: signer)
        }
        guard let bytes else { throw Problem.notFound("status list \(number)") }
        return Response(status: .ok, headers: [.contentType: StatusListToken.mediaType,
                                               .cacheControl: "max-age=\(settings.statusListTTL)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
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
                 body: .init(byteBuffer: ByteBuffer(bytes: openAPIDocument)))
    }

    func page(_ request: Request, context: ServerContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8",
                                        .contentSecurityPolicy: "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:"],
                 body: .init(byteBuffer: ByteBuffer(string: ServiceWindowPage.html)))
    }
}

/// Values kept for a few seconds, keyed; bounded by the number of keys callers use.
final class ShortCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let lifetime: Int64
    private let entries = Mutex<[Key: (made: Int64, value: Value)]>([:])

    init(lifetime: Int64) {
        self.lifetime = lifetime
    }

    func value(for key: Key, now: Int64, make: () throws -> Value) throws -> Value {
        if let entry = entries.withLock({ $0[key] }), now - entry.made < lifetime { return entry.value }
        let value = try make()
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = (now, value)
        }
        return value
    }
}
