import COpenSSL
import CSM2
import Foundation
import LicenceCore
import Testing
@testable import LicenceCrypto

/// The table-based SM2 verifier (CSM2) against OpenSSL's own verification: published vectors,
/// random keys and messages, every kind of malformed signature, and signatures built point by point
/// to reach the rare paths (a doubling inside the sum, the point at infinity, x1 ≥ n).
struct SM2VerifierTests {
    static let n = Hex.decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123")!

    // MARK: SM3 (GB/T 32905-2016, appendix A)

    @Test func sm3PublishedVectors() {
        #expect(Hex.encode(SM3.hash(Array("abc".utf8))) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        #expect(Hex.encode(SM3.hash(Array(String(repeating: "abcd", count: 16).utf8)))
            == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
    }

    @Test func sm3AgreesWithOpenSSL() {
        var generator = SystemRandomNumberGenerator()
        for length in Array(0...130) + [191, 192, 193, 1000, 4097] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var digest = [UInt8](repeating: 0, count: 32)
            var size: UInt32 = 0
            #expect(EVP_Digest(data, data.count, &digest, &size, EVP_sm3(), nil) == 1)
            #expect(SM3.hash(data) == digest, "length \(length)")
        }
    }

    // MARK: GM/T 0003.5-2012 and GB/T 32918.5-2017, appendix A: signature on sm2p256v1

    static let publishedPoint = Hex.decode("04"
        + "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
        + "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")!
    static let publishedSignature = Hex.decode(
        "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
        + "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")!

    @Test func publishedExample() throws {
        let verifier = try SM2Verifier(point: Self.publishedPoint)
        let message = Array("message digest".utf8)
        #expect(Hex.encode(verifier.z) == "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3")
        #expect(Hex.encode(SM3.hash(verifier.z + message)) == "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640")
        #expect(verifier.isValidSignature(Self.publishedSignature, for: message))
        #expect(!verifier.isValidSignature(Self.publishedSignature, for: Array("message digesT".utf8)))
        // OpenSSL agrees, through the SubjectPublicKeyInfo.
        let spki = try Self.spki(point: Self.publishedPoint)
        #expect(try OpenSSLVerifier(spki: spki).isValidSignature(Self.publishedSignature, for: message))
        #expect(try SM2Verifier(spki: spki).isValidSignature(Self.publishedSignature, for: message))
        // The compressed form of the same point (y is odd: 03).
        let compressed = [UInt8(0x03)] + Self.publishedPoint[1..<33]
        #expect(try SM2Verifier(point: compressed).isValidSignature(Self.publishedSignature, for: message))
        #expect(!(try SM2Verifier(point: [0x02] + Self.publishedPoint[1..<33]).isValidSignature(Self.publishedSignature, for: message)))
    }

    // MARK: random keys and messages, signed by OpenSSL

    /// 8 × 64 = 512 keys, run in parallel.
    @Test(arguments: 0..<8)
    func randomKeysAgreeWithOpenSSL(batch: Int) throws {
        var generator = SystemRandomNumberGenerator()
        var previous: (fast: SM2Verifier, openssl: OpenSSLVerifier)? = nil
        for index in 0..<64 {
            let key = try PrivateKey.generate(.sm2)
            let fast = try #require(try PublicKeys.verifier(spki: key.publicKeyDER) as? SM2Verifier)
            let openssl = try OpenSSLVerifier(spki: key.publicKeyDER)
            let message = (0..<Int.random(in: 0..<700, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let signature = try key.signer.sign(message)
            #expect(fast.isValidSignature(signature, for: message), "batch \(batch) key \(index)")
            #expect(openssl.isValidSignature(signature, for: message))

            // One changed bit, in r, in s or in the message.
            var badSignature = signature, badMessage = message
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: badSignature[Int.random(in: 0..<32, using: &generator)] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1: badSignature[Int.random(in: 32..<64, using: &generator)] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            default:
                if badMessage.isEmpty { badMessage = [0] } else {
                    badMessage[Int.random(in: 0..<badMessage.count, using: &generator)] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
                }
            }
            #expect(!fast.isValidSignature(badSignature, for: badMessage))
            #expect(!openssl.isValidSignature(badSignature, for: badMessage))

            // A signature by another key.
            if let previous {
                #expect(!previous.fast.isValidSignature(signature, for: message))
                #expect(!previous.openssl.isValidSignature(signature, for: message))
            }
            // Every malformed form of the signature, on every eighth key.
            if index % 8 == 0 {
                for (name, candidate) in Self.malformed(signature) {
                    let ours = fast.isValidSignature(candidate, for: message)
                    #expect(ours == openssl.isValidSignature(candidate, for: message), "\(name)")
                    #expect(!ours, "\(name)")
                }
            }
            previous = (fast, openssl)
        }
    }

    /// Signatures that must fail: r or s out of [1, n − 1], r + s ≡ 0 (mod n), wrong sizes.
    static func malformed(_ signature: [UInt8]) -> [(String, [UInt8])] {
        let r = Array(signature[0..<32]), s = Array(signature[32..<64])
        let zero = [UInt8](repeating: 0, count: 32), ones = [UInt8](repeating: 0xff, count: 32)
        let nPlusOne = add(n, one)!, nPlusR = add(n, r)
        return [
            ("r = 0", zero + s), ("s = 0", r + zero), ("r = s = 0", zero + zero),
            ("r = n", n + s), ("s = n", r + n), ("r = n + 1", nPlusOne + s), ("s = n + 1", r + nPlusOne),
            ("r = 2^256 − 1", ones + s), ("s = 2^256 − 1", r + ones), ("all 0xFF", ones + ones),
            ("r + n", (nPlusR ?? ones) + s), ("s + n", r + (add(n, s) ?? ones)),
            ("r + s ≡ 0", r + subtract(n, r)), ("r, s swapped", s + r),
            ("63 bytes", Array(signature.prefix(63))), ("65 bytes", signature + [0]), ("empty", []),
        ]
    }

    static let one = [UInt8](repeating: 0, count: 31) + [1]

    /// a + b over 32-byte big-endian numbers, nil on overflow.
    static func add(_ a: [UInt8], _ b: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32), carry = 0
        for i in (0..<32).reversed() {
            let sum = Int(a[i]) + Int(b[i]) + carry
            out[i] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return carry == 0 ? out : nil
    }

    /// a − b for a ≥ b.
    static func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32), borrow = 0
        for i in (0..<32).reversed() {
            var difference = Int(a[i]) - Int(b[i]) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 256 }
            out[i] = UInt8(difference)
        }
        return out
    }

    // MARK: distinguishing ID

    @Test func signatureWithTheEmptyIDIsRejected() throws {
        let key = try PrivateKey.generate(.sm2)
        let message = Array("电子证照 / electronic licence".utf8)
        let signature = try Self.signWithOpenSSLDefaultID(key, message)
        #expect(!(try SM2Verifier(spki: key.publicKeyDER).isValidSignature(signature, for: message)))
        #expect(!(try OpenSSLVerifier(spki: key.publicKeyDER).isValidSignature(signature, for: message)))
        // It is a genuine signature under the empty ID.
        #expect(try SM2Verifier(spki: key.publicKeyDER, distinguishingID: []).isValidSignature(signature, for: message))
        // And ours under the standard ID is not one under the empty ID.
        let standard = try key.signer.sign(message)
        #expect(!(try SM2Verifier(spki: key.publicKeyDER, distinguishingID: []).isValidSignature(standard, for: message)))
    }

    /// Signs as OpenSSL 3.0 does when no distinguishing ID is set: with the empty ID.
    static func signWithOpenSSLDefaultID(_ key: PrivateKey, _ message: [UInt8]) throws -> [UInt8] {
        let md = try #require(EVP_MD_CTX_new())
        defer { EVP_MD_CTX_free(md) }
        #expect(EVP_DigestSignInit(md, nil, EVP_sm3(), nil, key.key.pointer) == 1)
        var length = 0
        #expect(EVP_DigestSign(md, nil, &length, message, message.count) == 1)
        var der = [UInt8](repeating: 0, count: length)
        #expect(EVP_DigestSign(md, &der, &length, message, message.count) == 1)
        return try #require(ECDSASignatureFormat.rawFromDER(Array(der.prefix(length))))
    }

    // MARK: keys

    @Test func keysThatAreNotPointsOfTheCurveAreRefused() throws {
        let good = Self.publishedPoint
        var offCurve = good
        offCurve[64] ^= 1
        let p = Self.p
        let notOnCurve = "not a point of the curve sm2p256v1", notSEC1 = "not an SEC 1 point (04‖x‖y, or 02‖x / 03‖x)"
        let hybrid = "hybrid point form (first byte 06 or 07) is not allowed (RFC 5480, section 2.2)"
        let candidates: [(String, [UInt8], String)] = [
            ("off the curve", offCurve, notOnCurve), ("x = p", [0x04] + p + Array(good[33...]), notOnCurve),
            ("y = p", [0x04] + Array(good[1..<33]) + p, notOnCurve),
            ("infinity", [0x00], "the point at infinity is not a public key"),
            ("64 bytes", Array(good.dropFirst()), notSEC1),
            // The same point in hybrid form (y is odd: 07) is on the curve, and refused all the same.
            ("hybrid", [0x07] + good.dropFirst(), hybrid), ("hybrid, wrong parity", [0x06] + good.dropFirst(), hybrid),
            ("compressed, x not on the curve", [0x02] + [UInt8](repeating: 0, count: 31) + [5], notOnCurve),
            ("empty", [], notSEC1), ("04 and 32 bytes", Array(good.prefix(33)), notSEC1),
        ]
        for (name, point, reason) in candidates {
            let error = #expect(throws: LicenceCryptoError.self, "\(name)") { try SM2Verifier(point: point) }
            #expect(error?.message == "SM2 public key rejected: " + reason, "\(name)")
            #expect(error?.code == .keyFile, "\(name)")
        }
        _ = try SM2Verifier(point: good)
        // An ES256 key is not an SM2 key.
        #expect(throws: LicenceCryptoError.self) { try SM2Verifier(spki: try PrivateKey.generate(.es256).publicKeyDER) }
    }

    /// OpenSSL 3.0 reads a SubjectPublicKeyInfo holding a hybrid point, or the point at infinity
    /// (BIT STRING 00), as an SM2 key; ELicence refuses both, with a reason.
    @Test func spkisWithHybridOrInfinitePointsAreRefused() throws {
        let hybrid = [0x06 | (Self.publishedPoint[64] & 1)] + Self.publishedPoint.dropFirst()
        let hybridSPKI = try Self.spki(point: hybrid)
        #expect(try OpenSSLVerifier(spki: hybridSPKI).algorithm == .sm2)
        #expect(try OpenSSLVerifier(spki: hybridSPKI).isValidSignature(Self.publishedSignature, for: Array("message digest".utf8)))
        let algorithm = Array(try PrivateKey.generate(.sm2).publicKeyDER[2..<23])
        #expect(algorithm.prefix(2) == [0x30, 0x13])
        let infinitySPKI = [0x30, UInt8(algorithm.count + 4)] + algorithm + [0x03, 0x02, 0x00, 0x00]
        #expect(try OpenSSLVerifier(spki: infinitySPKI).algorithm == .sm2)

        for (name, spki, reason) in [
            ("hybrid", hybridSPKI, "hybrid point form (first byte 06 or 07) is not allowed (RFC 5480, section 2.2)"),
            ("infinity", infinitySPKI, "the point at infinity is not a public key"),
        ] {
            let direct = #expect(throws: LicenceCryptoError.self, "\(name)") { try SM2Verifier(spki: spki) }
            #expect(direct?.message == "SM2 public key rejected: " + reason, "\(name)")
            let chosen = #expect(throws: LicenceCryptoError.self, "\(name)") { try PublicKeys.verifier(spki: spki) }
            #expect(chosen?.message == "SM2 public key rejected: " + reason, "\(name)")
            #expect(chosen?.code == .keyFile, "\(name)")
        }
    }

    @Test func compressedPointsVerifyTheSame() throws {
        for _ in 0..<16 {
            let key = try PrivateKey.generate(.sm2)
            let point = try #require(OpenSSLVerifier(spki: key.publicKeyDER).key.encodedPublicKey)
            #expect(point.count == 65)
            let compressed = [0x02 | (point[64] & 1)] + point[1..<33]
            let message = Array("licence".utf8)
            let signature = try key.signer.sign(message)
            let verifier = try SM2Verifier(point: compressed)
            #expect(verifier.isValidSignature(signature, for: message))
            #expect(verifier.z == (try SM2Verifier(point: point)).z)
            // The other y is the negated key: another key altogether.
            let flipped = [compressed[0] ^ 1] + compressed[1...]
            #expect(!(try SM2Verifier(point: flipped).isValidSignature(signature, for: message)))
        }
    }

    // MARK: signatures built point by point, checked against OpenSSL's verification of a digest

    /// The key G (private key 1): s·G + t·G = (r + 2s)·G, so r and s can be anything.
    @Test func chosenSignaturesWithTheGeneratorAsKey() throws {
        let curve = try Curve()
        let g = try #require(curve.multiply(generator: Self.one))
        let verifier = try SM2Verifier(point: g)
        let spki = try Self.spki(point: g)
        var generator = SystemRandomNumberGenerator()
        let random = { (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        var cases: [(String, [UInt8], [UInt8])] = [
            ("r = 1, s = 1", Self.one, Self.one),
            ("r = n − 1, s = n − 1", Self.subtract(Self.n, Self.one), Self.subtract(Self.n, Self.one)),
            // t = 65: the key's first digit adds G to s·G = G, a doubling inside the sum.
            ("doubling inside the sum", curve.scalar(64), Self.one),
            ("small r and s", curve.scalar(64 * 64 + 1), curve.scalar(64 * 64 + 1)),
            // r + 2s ≡ 0: the sum is the point at infinity.
            ("infinity", Self.subtract(Self.n, curve.scalar(2)), Self.one),
        ]
        for _ in 0..<24 { cases.append(("random", curve.reduce(random()), curve.reduce(random()))) }
        for (name, r, s) in cases {
            let sum = curve.multiply(generator: curve.add(r, curve.add(s, s)))
            // e = r − x1 (mod n) makes the signature valid whenever the sum is not infinity.
            let e = sum.map { curve.subtract(r, curve.reduce(Array($0[1..<33]))) } ?? random()
            let signature = r + s
            let ours = verifier.isValidSignature(signature, digest: e)
            #expect(ours == (try Self.openSSLVerifies(spki: spki, digest: e, signature: signature)), "\(name)")
            #expect(ours == (sum != nil), "\(name)")
            var other = e
            other[31] ^= 1
            #expect(!verifier.isValidSignature(signature, digest: other), "\(name)")
        }
    }

    /// Where x1, the x of s·G + t·P, lies: the verifier compares it with c = (r − e) mod n, and with
    /// c + n only while c < p − n.
    enum X1Region: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// x1 = 0, 1, 7, …: the smallest x of the curve.
        case nearZero
        /// x1 around n: below n it is c itself, from n on it is c + n, as R = (e + x1) mod n wraps.
        case nearN
        /// x1 around p − n: the last x1 for which c + n (< p) is a candidate too, and the first not.
        case nearPMinusN
        /// x1 just below p: c + n close to p.
        case nearP

        var testDescription: String { rawValue }

        /// Candidate values of x, in order; those that are no point's x are skipped.
        func candidates() -> [[UInt8]] {
            let n = SM2VerifierTests.n, p = SM2VerifierTests.p, pMinusN = SM2VerifierTests.subtract(p, n)
            let small = (0..<64).map { SM2VerifierTests.scalar(UInt64($0)) }
            switch self {
            case .nearZero: return small
            case .nearN: return small.prefix(24).map { SM2VerifierTests.subtract(n, $0) } + small.prefix(24).compactMap { SM2VerifierTests.add(n, $0) }
            case .nearPMinusN: return small.prefix(24).map { SM2VerifierTests.subtract(pMinusN, $0) } + small.prefix(24).compactMap { SM2VerifierTests.add(pMinusN, $0) }
            case .nearP: return small.dropFirst().map { SM2VerifierTests.subtract(p, $0) }
            }
        }
    }

    /// Reached by choosing the point R = (x1, y1) first and solving for the key: with random r and
    /// s, t = r + s, P = t⁻¹·(R − s·G) makes s·G + t·P = R, and e = (r − x1) mod n makes r‖s valid.
    @Test(arguments: X1Region.allCases)
    func x1AtTheEdges(_ region: X1Region) throws {
        let curve = try Curve()
        var generator = SystemRandomNumberGenerator()
        var found = 0
        for x in region.candidates() {
            guard let point = curve.point(x: x) else { continue }
            found += 1
            let r = curve.reduce((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let s = curve.reduce((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let tInverse = curve.inverse(curve.add(r, s))
            let key = try #require(curve.multiply(generator: curve.subtract(Self.zero, curve.multiply(s, tInverse)),
                                                  point: point, by: tInverse))
            let e = curve.subtract(r, curve.reduce(x))
            let verifier = try SM2Verifier(point: key)
            let spki = try Self.spki(point: key)
            let name = "\(region) x = \(Hex.encode(x))"
            #expect(verifier.isValidSignature(r + s, digest: e), "\(name)")
            #expect(try Self.openSSLVerifies(spki: spki, digest: e, signature: r + s), "\(name)")
            var other = e
            other[31] ^= 1
            #expect(!verifier.isValidSignature(r + s, digest: other), "\(name)")
            #expect(!(try Self.openSSLVerifies(spki: spki, digest: other, signature: r + s)), "\(name)")
        }
        #expect(found >= 6, "only \(found) points in \(region)")
    }

    /// e ≥ n, given as a digest: e = n + δ for δ < 2^256 − n, including e = n and e = 2^256 − 1. The
    /// verifier must reduce e once; OpenSSL reduces (e + x1) mod n. R = k·G is random, r = (e + x1)
    /// mod n, s random, and the key solved for as in ``x1AtTheEdges(_:)``.
    @Test func digestAtLeastN() throws {
        let curve = try Curve()
        var generator = SystemRandomNumberGenerator()
        let random = { (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        let room = Self.subtract([UInt8](repeating: 0xff, count: 32), Self.n)   // 2^256 − 1 − n
        var deltas = [Self.zero, room, Self.one]
        for index in 0..<13 {
            // Below 2^224 < 2^256 − n; every other one counted down from the top.
            let small = [0, 0, 0, 0] + random().dropFirst(4)
            deltas.append(index.isMultiple(of: 2) ? small : Self.subtract(room, small))
        }
        for delta in deltas {
            let e = try #require(Self.add(Self.n, delta))
            let rPoint = try #require(curve.multiply(generator: curve.reduce(random())))
            let r = curve.add(curve.reduce(e), curve.reduce(Array(rPoint[1..<33])))
            let s = curve.reduce(random())
            guard r != Self.zero, curve.add(r, s) != Self.zero else { continue }
            let tInverse = curve.inverse(curve.add(r, s))
            let key = try #require(curve.multiply(generator: curve.subtract(Self.zero, curve.multiply(s, tInverse)),
                                                  point: rPoint, by: tInverse))
            let verifier = try SM2Verifier(point: key)
            let spki = try Self.spki(point: key)
            #expect(verifier.isValidSignature(r + s, digest: e), "e = \(Hex.encode(e))")
            #expect(try Self.openSSLVerifies(spki: spki, digest: e, signature: r + s), "e = \(Hex.encode(e))")
            // e − n is the same number mod n; e with a bit changed is not.
            #expect(verifier.isValidSignature(r + s, digest: delta))
            var other = e
            other[31] ^= 1
            #expect(!verifier.isValidSignature(r + s, digest: other))
            #expect(!(try Self.openSSLVerifies(spki: spki, digest: other, signature: r + s)))
        }
    }

    /// A message whose e = SM3(Z‖M) is itself at least n, checked through the whole path (SM3, Z,
    /// the ID). The key is G (private key 1) with the ID 1234567812345678. Such an e comes about
    /// once in 2^32 messages (2^256 − n is about 2^224), so the message was searched for: M is
    /// "e >= n: " followed by a counter as 12 lower-case hex digits, tried upwards from 0 (one SM3
    /// compression each); counter 0xd7802117 gives e = FFFFFFFF637D…. Tools/sanitize-sm2 checks it too.
    /// Signed here with d = 1: r = (e + x(k·G)) mod n, s = (1 + d)⁻¹·(k − r·d) = (k − r)/2 mod n.
    @Test func messageWhoseDigestIsAtLeastN() throws {
        let curve = try Curve()
        let g = try #require(curve.multiply(generator: Self.one))
        let verifier = try SM2Verifier(point: g)
        let openssl = try OpenSSLVerifier(spki: Self.spki(point: g))
        let message = Array("e >= n: 0000d7802117".utf8)
        let e = SM3.hash(verifier.z + message)
        #expect(Hex.encode(e) == "ffffffff637dfe5ccdf78905aec423dd987d28b3c1818f4d3b58b081762fb829")
        #expect(!e.lexicographicallyPrecedes(Self.n))
        var generator = SystemRandomNumberGenerator()
        let half = curve.inverse(curve.scalar(2))
        for _ in 0..<8 {
            let k = curve.reduce((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            guard let kG = curve.multiply(generator: k) else { continue }
            let r = curve.add(curve.reduce(e), curve.reduce(Array(kG[1..<33])))
            let s = curve.multiply(curve.subtract(k, r), half)
            guard r != Self.zero, s != Self.zero, curve.add(r, k) != Self.zero else { continue }
            #expect(verifier.isValidSignature(r + s, for: message))
            #expect(openssl.isValidSignature(r + s, for: message))
            // Verified as a digest too, and as e − n (the same number mod n).
            #expect(verifier.isValidSignature(r + s, digest: e))
            #expect(verifier.isValidSignature(r + s, digest: Self.subtract(e, Self.n)))
            var other = message
            other[other.count - 1] ^= 1
            #expect(!verifier.isValidSignature(r + s, for: other))
            #expect(!openssl.isValidSignature(r + s, for: other))
        }
    }

    // MARK: the field's Montgomery multiplication

    /// a·b·2^−256 mod p by the C code (its test-only entry points) against OpenSSL's BIGNUM: values
    /// whose products carry out of the reduction ((p − 1)², (p − 1)(p − 2), …), 0, 1, 2, 2^255,
    /// 2^256 mod p (the Montgomery form of 1) and its negation, (p − 1) / 2, and random values.
    @Test func montgomeryProductsAgreeWithOpenSSL() throws {
        let curve = try Curve()
        let p = Self.p
        let rModP = Self.subtract(Self.zero, p)                 // 2^256 − p: the borrow out is dropped
        var half = Self.subtract(p, Self.one)
        for i in (0..<32).reversed() { half[i] = half[i] >> 1 | (i > 0 ? half[i - 1] << 7 : 0) }
        let edges = (1...5).map { Self.subtract(p, Self.scalar($0)) } + (0...2).map { Self.scalar($0) }
            + [[0x80] + [UInt8](repeating: 0, count: 31), rModP, Self.subtract(p, rModP), half]
        var generator = SystemRandomNumberGenerator()
        let random = { curve.reduce((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }, modulo: p) }
        var pairs = edges.flatMap { a in edges.map { b in (a, b) } }
        for index in 0..<2000 {
            let a = random()
            pairs.append((a, index.isMultiple(of: 3) ? a : random()))
        }
        for (a, b) in pairs {
            var product = [UInt8](repeating: 0, count: 32)
            elicence_sm2_test_field_mul(a, b, &product)
            #expect(product == curve.montgomeryProduct(a, b), "\(Hex.encode(a)) · \(Hex.encode(b))")
            if a == b {
                var square = [UInt8](repeating: 0, count: 32)
                elicence_sm2_test_field_sqr(a, &square)
                #expect(square == product, "\(Hex.encode(a))²")
            }
        }
    }

    /// The same carries through public behaviour: keys whose x is p − k in Montgomery form
    /// (x = −k·2^−256 mod p), so that loading squares and multiplies p − k. They load in both forms,
    /// with one Z, and verify signatures exactly when OpenSSL does.
    @Test func keysWhoseMontgomeryXIsNearP() throws {
        let curve = try Curve()
        var generator = SystemRandomNumberGenerator()
        let random = { curve.reduce((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        var found = 0
        for k in UInt64(1)...24 {
            let x = curve.montgomeryProduct(Self.subtract(Self.p, Self.scalar(k)), Self.one)   // (p − k)·2^−256
            guard let point = curve.point(x: x) else { continue }
            found += 1
            let compressed = [0x02 | (point[64] & 1)] + point[1..<33]
            let verifier = try SM2Verifier(point: point)
            #expect(try SM2Verifier(point: compressed).z == verifier.z, "k = \(k)")
            let spki = try Self.spki(point: point)
            for _ in 0..<4 {
                let r = random(), s = random()
                guard let sum = curve.multiply(generator: s, point: point, by: curve.add(r, s)) else { continue }
                let e = curve.subtract(r, curve.reduce(Array(sum[1..<33])))
                #expect(verifier.isValidSignature(r + s, digest: e), "k = \(k)")
                #expect(try Self.openSSLVerifies(spki: spki, digest: e, signature: r + s), "k = \(k)")
                var other = e
                other[0] ^= 0x80
                #expect(!verifier.isValidSignature(r + s, digest: other), "k = \(k)")
            }
        }
        #expect(found >= 4)
    }

    static let zero = [UInt8](repeating: 0, count: 32)
    static let p = Hex.decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF")!

    static func scalar(_ value: UInt64) -> [UInt8] {
        [UInt8](repeating: 0, count: 24) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    static func spki(point: [UInt8]) throws -> [UInt8] {
        let prefix = Array(try PrivateKey.generate(.sm2).publicKeyDER.prefix(26))
        #expect(prefix.count == 26 && prefix.suffix(3) == [0x03, 0x42, 0x00])
        return prefix + point
    }

    /// OpenSSL's SM2 verification of a given digest e (EVP_PKEY_verify, no SM3 step).
    static func openSSLVerifies(spki: [UInt8], digest: [UInt8], signature: [UInt8]) throws -> Bool {
        let key = try OpenSSLVerifier(spki: spki).key
        guard let der = ECDSASignatureFormat.derFromRaw(signature) else { return false }
        let context = try #require(EVP_PKEY_CTX_new(key.pointer, nil))
        defer { EVP_PKEY_CTX_free(context) }
        #expect(EVP_PKEY_verify_init(context) == 1)
        let verified = EVP_PKEY_verify(context, der, der.count, digest, digest.count) == 1
        ERR_clear_error()
        return verified
    }
}

/// sm2p256v1 point and scalar arithmetic through OpenSSL's EC_POINT and BIGNUM, for building test
/// signatures. Scalars are 32-byte big-endian.
final class Curve {
    let group: OpaquePointer
    let context: OpaquePointer
    let order: OpaquePointer
    let field: OpaquePointer

    init() throws {
        group = try #require(EC_GROUP_new_by_curve_name(NID_sm2))
        context = try #require(BN_CTX_new())
        order = try #require(BN_dup(EC_GROUP_get0_order(group)))
        field = try #require(BN_new())
        #expect(EC_GROUP_get_curve(group, field, nil, nil, context) == 1)
    }

    deinit {
        BN_free(field)
        BN_free(order)
        BN_CTX_free(context)
        EC_GROUP_free(group)
    }

    private func number(_ bytes: [UInt8]) -> OpaquePointer { BN_bin2bn(bytes, Int32(bytes.count), nil)! }

    private func bytes(_ number: OpaquePointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = BN_bn2binpad(number, &out, 32)
        return out
    }

    private func modular(_ a: [UInt8], _ b: [UInt8], _ operation: (OpaquePointer, OpaquePointer, OpaquePointer, OpaquePointer, OpaquePointer) -> Int32) -> [UInt8] {
        let x = number(a), y = number(b), result = BN_new()!
        defer { BN_free(x); BN_free(y); BN_free(result) }
        _ = operation(result, x, y, order, context)
        return bytes(result)
    }

    func scalar(_ value: UInt64) -> [UInt8] { [UInt8](repeating: 0, count: 24) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
    func add(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { modular(a, b) { BN_mod_add($0, $1, $2, $3, $4) } }
    func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { modular(a, b) { BN_mod_sub($0, $1, $2, $3, $4) } }
    func multiply(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { modular(a, b) { BN_mod_mul($0, $1, $2, $3, $4) } }
    func reduce(_ a: [UInt8]) -> [UInt8] { add(a, [UInt8](repeating: 0, count: 32)) }

    /// a mod m for another modulus m (32 bytes).
    func reduce(_ a: [UInt8], modulo m: [UInt8]) -> [UInt8] {
        let x = number(a), modulus = number(m), result = BN_new()!
        defer { BN_free(x); BN_free(modulus); BN_free(result) }
        _ = BN_nnmod(result, x, modulus, context)
        return bytes(result)
    }

    /// a·b·2^−256 mod p: the field's Montgomery product.
    func montgomeryProduct(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        let x = number(a), y = number(b), r = BN_new()!, rInverse = BN_new()!, result = BN_new()!
        defer { BN_free(x); BN_free(y); BN_free(r); BN_free(rInverse); BN_free(result) }
        _ = BN_set_bit(r, 256)
        _ = BN_mod_inverse(rInverse, r, field, context)
        _ = BN_mod_mul(result, x, y, field, context)
        _ = BN_mod_mul(result, result, rInverse, field, context)
        return bytes(result)
    }

    func inverse(_ a: [UInt8]) -> [UInt8] {
        let x = number(a), result = BN_new()!
        defer { BN_free(x); BN_free(result) }
        _ = BN_mod_inverse(result, x, order, context)
        return bytes(result)
    }

    /// g·G + k·Q in uncompressed form, nil for the point at infinity.
    func multiply(generator g: [UInt8], point q: [UInt8]? = nil, by k: [UInt8]? = nil) -> [UInt8]? {
        let result = EC_POINT_new(group)!, gn = number(g)
        defer { EC_POINT_free(result); BN_free(gn) }
        if let q, let k {
            let qPoint = EC_POINT_new(group)!, kn = number(k)
            defer { EC_POINT_free(qPoint); BN_free(kn) }
            guard EC_POINT_oct2point(group, qPoint, q, q.count, context) == 1,
                  EC_POINT_mul(group, result, gn, qPoint, kn, context) == 1 else { return nil }
        } else {
            guard EC_POINT_mul(group, result, gn, nil, nil, context) == 1 else { return nil }
        }
        if EC_POINT_is_at_infinity(group, result) == 1 { return nil }
        var out = [UInt8](repeating: 0, count: 65)
        guard EC_POINT_point2oct(group, result, POINT_CONVERSION_UNCOMPRESSED, &out, 65, context) == 65 else { return nil }
        return out
    }

    /// The point with this x and an even y, if x³ − 3x + b is a square.
    func point(x: [UInt8]) -> [UInt8]? {
        let p = EC_POINT_new(group)!, xn = number(x)
        defer { EC_POINT_free(p); BN_free(xn) }
        guard EC_POINT_set_compressed_coordinates(group, p, xn, 0, context) == 1 else {
            ERR_clear_error()
            return nil
        }
        var out = [UInt8](repeating: 0, count: 65)
        guard EC_POINT_point2oct(group, p, POINT_CONVERSION_UNCOMPRESSED, &out, 65, context) == 65 else { return nil }
        return out
    }
}
