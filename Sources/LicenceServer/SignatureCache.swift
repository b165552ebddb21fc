import Crypto
import LicenceCore
import Synchronization

/// Verified tokens by SHA-256 of their text, in two generations: when the current one is full it
/// becomes the previous one and the oldest generation is dropped, so memory stays bounded
/// (`capacity` entries at most) and tokens shown often stay cached.
final class SignatureCache: VerificationCache, Sendable {
    private struct Generations {
        var current: [SHA256Digest: VerifiedToken] = [:]
        var previous: [SHA256Digest: VerifiedToken] = [:]
    }

    private let generationSize: Int
    private let generations = Mutex(Generations())

    init(capacity: Int) {
        generationSize = max(1, capacity / 2)
    }

    func lookup(_ token: String) -> VerifiedToken? {
        let key = SHA256.hash(data: Array(token.utf8))
        return generations.withLock { $0.current[key] ?? $0.previous[key] }
    }

    func store(_ token: String, _ verified: VerifiedToken) {
        let key = SHA256.hash(data: Array(token.utf8))
        generations.withLock { generations in
            if generations.current.count >= generationSize {
                generations.previous = generations.current
                generations.current = [:]
                generations.current.reserveCapacity(generationSize)
            }
            generations.current[key] = verified
        }
    }
}
