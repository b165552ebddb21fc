import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LicenceCore
import Synchronization

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
