import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceStore
import Synchronization

/// Reads `Authorization: Bearer KEY`. A valid key sets the context's agency; a wrong or revoked key
/// is refused on every route, so a revoked agency is turned away at once.
struct AgencyAuthenticationMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let agencies: any AgencyRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        guard header.lowercased().hasPrefix("bearer "), case let key = header.dropFirst(7).trimmingCharacters(in: .whitespaces),
              !key.isEmpty, key.utf8.count <= 256 else {
            throw Problem.invalidKey
        }
        guard let agency = try agencies.agency(keyHash: AgencyKey.hash(key)) else { throw Problem.invalidKey }
        var context = context
        context.agency = agency
        context.logger[metadataKey: "agency"] = .string(agency.code)
        return try await next(request, context)
    }
}

/// Agency API keys: 256 random bits, shown once, stored as SHA-256.
public enum AgencyKey {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "elk_" + Hex.encode(bytes)
    }

    public static func hash(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }
}

/// A token bucket per client address for anonymous verifications.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let perMinute: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Takes one token for `client`; returns the seconds to wait when none is left.
    func take(_ client: String) -> Int? {
        guard perMinute > 0 else { return nil }
        let now = ContinuousClock.now
        let rate = Double(perMinute) / 60
        return buckets.withLock { buckets in
            if buckets.count > 100_000 { buckets.removeAll(keepingCapacity: true) }  // bounded memory under attack
            var bucket = buckets[client] ?? Bucket(tokens: Double(perMinute), updated: now)
            let elapsed = Double((now - bucket.updated).components.seconds)
                + Double((now - bucket.updated).components.attoseconds) / 1e18
            bucket.tokens = min(Double(perMinute), bucket.tokens + elapsed * rate)
            bucket.updated = now
            defer { buckets[client] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}

extension Request {
    /// 办事事由 from `X-Use-Cause` (UTF-8 percent-encoded, since header values are ASCII), bounded.
    var useCause: String? {
        headers[HTTPField.Name("X-Use-Cause")!].map { raw in String((raw.removingPercentEncoding ?? raw).prefix(200)) }
    }
}
