import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceStore
import Synchronization

/// Reads `Authorization: Bearer KEY`. A valid key sets the context's agency; a wrong or revoked key
/// is refused on every route, so a revoked agency is turned away at once.
struct AgencyAuthenticationMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let agencies: AgencyDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let cause = request.headers[Request.useCauseField], cause.utf8.count > Request.maxUseCauseLength {
            throw Problem.invalidHeader("X-Use-Cause", "has \(cause.utf8.count) characters; at most \(Request.maxUseCauseLength) are accepted")
        }
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        guard let key = Self.bearerKey(header) else { throw Problem.invalidKey }
        let (found, counter) = try agencies.agency(keyHash: AgencyKey.hash(key))
        guard let agency = found else { throw Problem.invalidKey }
        var context = context
        context.agency = agency
        context.registryCounter = counter
        context.logger[metadataKey: "agency"] = .string(agency.code)
        return try await next(request, context)
    }

    /// The key of `Bearer KEY` (scheme in any case, blanks around the key), at most 256 bytes. Read
    /// byte by byte: a combining mark after the scheme's space must not join it into one character.
    static func bearerKey(_ header: String) -> Substring? {
        let utf8 = header.utf8
        let scheme = Array("bearer ".utf8)
        guard utf8.count > scheme.count,
              zip(utf8.prefix(scheme.count), scheme).allSatisfy({ byte, expected in
                  byte == expected || (expected >= UInt8(ascii: "a") && expected <= UInt8(ascii: "z") && byte == expected - 32)
              }) else { return nil }
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let rest = utf8[utf8.index(utf8.startIndex, offsetBy: scheme.count)...]
        guard let first = rest.firstIndex(where: { !blank($0) }), let last = rest.lastIndex(where: { !blank($0) }) else {
            return nil
        }
        let key = Substring(utf8[first...last])
        return key.utf8.count <= 256 ? key : nil
    }
}

/// The active agencies in memory, reloaded whenever the registry's change counter moves, so that a
/// revocation made with the command line refuses the very next request.
final class AgencyDirectory: Sendable {
    private let registry: any AgencyRegistry
    private let feed: any StatusFeed
    private let state = Mutex<(counter: Int64, byKey: [[UInt8]: Agency])>((-1, [:]))

    init(registry: any AgencyRegistry, feed: any StatusFeed) {
        self.registry = registry
        self.feed = feed
    }

    /// The active agency with this key hash, and the registry's change counter it was read at.
    func agency(keyHash: [UInt8]) throws -> (Agency?, counter: Int64) {
        let counter = try feed.changeCounter()
        if let found = state.withLock({ $0.counter == counter ? $0.byKey[keyHash] as Agency?? : nil }) { return (found, counter) }
        let byKey = Dictionary(try registry.activeAgencies().map { ($0.keyHash, $0.agency) }, uniquingKeysWith: { a, _ in a })
        state.withLock { $0 = (counter, byKey) }
        return (byKey[keyHash], counter)
    }
}

/// Agency API keys: 256 random bits, shown once, stored as SHA-256.
public enum AgencyKey {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "elk_" + Hex.encode(bytes)
    }

    public static func hash(_ key: some StringProtocol) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }
}

/// A token bucket per client for anonymous verifications. A client is its address (an IPv6 client
/// by its /64, which one host may own whole); behind a trusted proxy, the address the proxy put last
/// in `X-Forwarded-For`. Memory is bounded: when there are too many clients, idle ones are dropped.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    static let maxClients = 50_000
    private let perMinute: Int
    private let trustedProxies: Set<String>
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perMinute: Int, trustedProxies: Set<String> = []) {
        self.perMinute = perMinute
        self.trustedProxies = trustedProxies
    }

    /// The client a request counts against.
    func client(remoteAddress: String, forwardedFor: String?) -> String {
        var address = remoteAddress
        if trustedProxies.contains(remoteAddress), let forwarded = forwardedFor?.split(separator: ",").last {
            address = forwarded.trimmingCharacters(in: .whitespaces)
        }
        var ipv6 = in6_addr()
        if address.contains(":"), inet_pton(AF_INET6, address, &ipv6) == 1 {
            let bytes = withUnsafeBytes(of: ipv6) { Array($0.prefix(8)) }
            return Hex.encode(bytes) + "::/64"
        }
        return address
    }

    /// Takes one token for `client`; returns the seconds to wait when none is left.
    func take(_ client: String) -> Int? {
        guard perMinute > 0 else { return nil }
        let now = ContinuousClock.now
        let rate = Double(perMinute) / 60
        func refilled(_ bucket: Bucket) -> Double {
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return min(Double(perMinute), bucket.tokens + seconds * rate)
        }
        return buckets.withLock { buckets in
            if buckets.count >= Self.maxClients {
                // A full bucket holds nothing worth keeping; then the longest idle go.
                buckets = buckets.filter { refilled($0.value) < Double(perMinute) }
                if buckets.count >= Self.maxClients / 2 {
                    let keep = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(Self.maxClients / 2)
                    buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
            }
            var bucket = buckets[client] ?? Bucket(tokens: Double(perMinute), updated: now)
            bucket.tokens = refilled(bucket)
            bucket.updated = now
            defer { buckets[client] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}

extension Request {
    static let useCauseField = HTTPField.Name("X-Use-Cause")!
    /// The longest `X-Use-Cause` accepted, as sent: about 110 Chinese characters percent-encoded.
    static let maxUseCauseLength = 1024

    /// 办事事由 from `X-Use-Cause` (UTF-8 percent-encoded, since header values are ASCII), without
    /// control or format characters (it is printed to operators' terminals later). Its length was
    /// checked by ``AgencyAuthenticationMiddleware`` before any handler ran.
    var useCause: String? {
        headers[Self.useCauseField].map { raw in
            let decoded = raw.removingPercentEncoding ?? raw
            let clean = decoded.unicodeScalars.filter {
                $0.properties.generalCategory != .control && $0.properties.generalCategory != .format
            }
            return String(String.UnicodeScalarView(clean))
        }
    }

    var forwardedFor: String? { headers[HTTPField.Name("X-Forwarded-For")!] }
}
