import Crypto
import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore
import Metrics
import Synchronization

/// `POST /v1/verify` and `POST /v1/verify/batch`.
struct VerificationController: Sendable {
    let registry: any Registry
    let statuses: StatusIndex
    let cache: SignatureCache?
    let trust: TrustSource
    let federation: Federation
    let foreignStatus: ForeignStatusLists
    let recorder: UsageRecorder
    let checkpoints: LogCheckpointer
    let limiter: RateLimiter
    let settings: ServerSettings

    /// What one request verifies with: the trust list and the imported authorities' keys, the
    /// registry's statuses and the other authorities' status lists held now.
    struct Session {
        let trust: CombinedTrustStore
        let own: any StatusSource
        let controller: VerificationController

        func verifier(misses: FederatedStatusSource.Misses) -> Verifier {
            let source = FederatedStatusSource(own: own, foreign: controller.foreignStatus.snapshot(now: SystemClock().now), misses: misses)
            return Verifier(trustStore: trust, statusSource: source, clock: SystemClock(), cache: controller.cache)
        }

        /// Verifies `tokens`; the other authorities' status lists that were missing are fetched and
        /// the tokens that wanted them verified again.
        func verify(_ tokens: [String]) async -> [VerificationResult] {
            let misses = FederatedStatusSource.Misses()
            let first = verifier(misses: misses)
            var results = tokens.count == 1 ? [first.verify(tokens[0])] : tokens.concurrentMap { first.verify($0) }
            let wanted = misses.all
            guard !wanted.isEmpty else { return results }
            await controller.foreignStatus.fetch(wanted, trust: trust.foreign)
            let second = verifier(misses: FederatedStatusSource.Misses())
            for index in results.indices where results[index].authority != nil {
                if case .statusUnavailable = results[index].outcome { results[index] = second.verify(tokens[index]) }
            }
            return results
        }
    }

    /// The registry is asked for changes once a request (for a batch, before its first token), or
    /// not at all when authentication already read its change counter.
    func session(_ context: ServerContext) async -> Session {
        Session(trust: CombinedTrustStore(own: await trust.current().list, foreign: federation.keys),
                own: await statuses.refreshedOnce(counter: context.registryCounter), controller: self)
    }

    func verify(_ request: Request, context: ServerContext) async throws -> Response {
        if context.agency == nil,
           let wait = limiter.take(limiter.client(remoteAddress: context.remoteAddress, forwardedFor: request.forwardedFor)) {
            throw Problem.rateLimited(retryAfter: wait)
        }
        // The hot path reads the token and writes the answer without Foundation's JSON.
        let buffer = try await JSONBody.body(of: request, limit: 64 * 1024)
        let token = try RequestJSON.token(buffer.readableBytesView) ?? JSONBody.decode(VerifyRequest.self, from: buffer).token
        if PresentationCode.isPresentation(token) {
            return JSONBody.response(bytes: try await presentation(token, context: context, cause: request.useCause).json)
        }
        let result = await session(context).verify([token])[0]
        VerificationMetrics.count(result)
        if let agency = context.agency {
            recorder.record(usage(result, agency: agency, cause: request.useCause))
        }
        return JSONBody.response(bytes: try await withStatusSince(report(result)).json)
    }

    func batch(_ request: Request, context: ServerContext) async throws -> Response {
        guard let agency = context.agency else { throw Problem.unauthenticated }
        let buffer = try await JSONBody.body(of: request, limit: settings.maxBodyBytes)
        let tokens = try RequestJSON.tokens(buffer.readableBytesView) ?? JSONBody.decode(BatchRequest.self, from: buffer).tokens
        guard tokens.count <= settings.maxBatch else { throw Problem.batchTooLarge(tokens.count, settings.maxBatch) }
        let results = await session(context).verify(tokens)
        let answers = results.concurrentMap { result -> (VerificationResult, [UInt8]) in (result, report(result).json) }
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

    /// A presentation code (亮证), checked in order: its form; the device is enrolled, active and the
    /// holder's; the device's signature; its time (`iat − 30 s` … `exp`); its nonce never used (kept in
    /// the registry, so once across every server); then the licence itself, as any token. The answer
    /// shows only the fields the holder chose, of those the licence's type discloses.
    func presentation(_ text: String, context: ServerContext, cause: String?) async throws -> VerificationReport {
        let now = SystemClock().now
        var result: VerificationResult
        var shown: Presentation?
        var licenceID: String?
        switch try await checkPresentation(text, now: now) {
        case .failed(let outcome):
            result = VerificationResult(outcome: outcome, statusChecked: false)
        case .accepted(let code, let stored):
            licenceID = stored.id.description
            result = await session(context).verify([stored.token])[0]
            if var claims = result.claims {
                let chosen = Set(code.disclosed ?? Array(claims.fields.keys))
                claims.fields = claims.fields.filter { chosen.contains($0.key) }
                result.claims = claims
                shown = Presentation(device: Hex.encode(code.device), presentedAt: Timestamp.format(code.issuedAt),
                                     disclosed: claims.fields.keys.sorted())
            }
        }
        VerificationMetrics.count(result)
        // A presentation is a use of the licence its holder sees, also from an anonymous window.
        if let licenceID {
            recorder.record(UsageRecord(agency: context.agency?.code ?? "", licence: licenceID, action: .present, cause: cause,
                                        outcome: result.outcome.code, at: now))
        }
        var report = try await withStatusSince(report(result))
        report.presentation = shown
        return report
    }

    enum PresentationCheck {
        case failed(VerificationOutcome)
        case accepted(PresentationCode, StoredLicence)
    }

    private func checkPresentation(_ text: String, now: Int64) async throws -> PresentationCheck {
        let code: PresentationCode
        do { code = try PresentationCode(decoding: text) } catch {
            return .failed(.malformed(layer: error.layer, detail: error.description))
        }
        guard let device = try await registry.device(id: Hex.encode(code.device)), device.isActive else { return .failed(.unknownDevice) }
        guard let stored = try await registry.licence(idHash: code.licenceHash) else { return .failed(.unknownLicence) }
        guard stored.licence.holder.code.value == device.holderCode else { return .failed(.unknownDevice) }
        guard let key = try? P256Verifier(spki: device.publicKey), code.isSigned(by: key) else { return .failed(.badSignature) }
        guard code.isCurrent(at: now) else { return .failed(.presentationExpired) }
        let once = Array(SHA256.hash(data: Array("present:".utf8) + code.device + code.nonce))
        guard try await registry.useOnce(once, expires: code.expires + 60, now: now) else { return .failed(.presentationReplayed) }
        return .accepted(code, stored)
    }

    /// For a revoked or suspended licence, when its status changed (a registry read, on this path only).
    private func withStatusSince(_ report: VerificationReport) async throws -> VerificationReport {
        guard report.outcome == "revoked" || report.outcome == "suspended", let id = report.licence?.id,
              let identifier = try? LicenceIdentifier(parsing: id) else { return report }
        var report = report
        if let last = try await registry.statusEvents(licenceID: identifier).last(where: { $0.status.rawValue == report.outcome }) {
            report.statusSince = Timestamp.format(last.at)
        }
        return report
    }

    /// The report of a result, with the licence's place in the transparency log when the registry
    /// holds the licence and a trusted key vouches for its identifier.
    private func report(_ result: VerificationResult) -> VerificationReport {
        var report = VerificationReport(result)
        if report.licence != nil, let claims = result.claims, let index = statuses.logIndex(of: claims) {
            report.log = LogPosition(index: index, treeSize: checkpoints.latest?.size ?? 0)
        }
        return report
    }

    /// The record of one verification. It names the licence only when a trusted key's signature
    /// vouches for the identifier, so a forged token cannot write into a real licence's history.
    private func usage(_ result: VerificationResult, agency: Agency, cause: String?) -> UsageRecord {
        UsageRecord(agency: agency.code, licence: result.signingKey == nil ? nil : result.claims?.identifier.description,
                    action: .verify, cause: cause, outcome: result.outcome.code, at: SystemClock().now,
                    authority: result.authority?.code, authorityName: result.authority?.displayName)
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
