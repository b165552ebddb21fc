import Foundation
import LicenceCore
import LicenceCrypto

// In-process verification speed, one core, for each algorithm: the whole Verifier on a realistic
// token (decode, signature, checks), the bare signature check of the implementation the Verifier
// uses, and OpenSSL's own EVP verification for comparison. Rates are per second of the thread's
// CPU time, as in `openssl speed`, and the four measurements of an algorithm are taken in turns
// (see `rates`). Prints one JSON object per line.
//   elicence-bench [seconds]

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "3") ?? 3

/// CPU time of the calling thread, in seconds. `openssl speed` divides by CPU time too (user time,
/// unless given -elapsed), so a ratio between the two holds on a machine that others share.
func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Rates of several measurements taken in turns: short rounds of each, over and over, so that a
/// neighbour's load or a change of clock speed falls on all of them alike and their ratios hold.
func rates(_ seconds: Double, rounds: Int = 12, _ bodies: [() -> Bool]) -> [Double] {
    var counts = [Int](repeating: 0, count: bodies.count)
    var spent = [Double](repeating: 0, count: bodies.count)
    for _ in 0..<rounds {
        for (index, body) in bodies.enumerated() {
            var ok = true
            let start = cpuSeconds()
            var elapsed = 0.0
            while elapsed < seconds / Double(rounds) {
                for _ in 0..<25 { ok = body() && ok; counts[index] += 1 }
                elapsed = cpuSeconds() - start
            }
            precondition(ok, "a verification failed during the benchmark")
            spent[index] += elapsed
        }
    }
    return zip(counts, spent).map { Double($0) / $1 }
}

let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
for algorithm in [SignatureAlgorithm.sm2, .es256, .edDSA] {
    let key = try PrivateKey.generate(algorithm)
    let licence = try LicenceDocument(
        type: "11100000000013338W011", typeName: "营业执照", number: "闽市监2026第000123号",
        holder: .init(name: "福州某某科技有限公司", code: "91350100MA2Y01111F", codeType: "001"),
        issuer: .init(name: issuer.name, code: issuer.code), validFrom: "2026-01-15", validUntil: .date("2046-01-14"),
        fields: ["法定代表人": "张三"]).validated()
    var random = SystemRandomNumberGenerator()
    let id = try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: issuer.code, at: 1_780_000_000, using: &random)
    let claims = LicenceClaims(licence: licence, identifier: id, issuedAt: 1_780_000_000,
                               status: StatusReference(index: 4711, uri: "http://127.0.0.1:8080/v1/status-lists/0"))
    let token = try LicenceToken.sign(claims, with: key.signer)
    let fast = try PublicKeys.verifier(spki: key.publicKeyDER)
    let openssl = try OpenSSLVerifier(spki: key.publicKeyDER)
    let trust = TrustList([TrustedKey(kid: key.kid, role: .issuer, issuer: issuer, notBefore: 0, notAfter: .max, state: .active,
                                      verifier: fast)])
    let verifier = Verifier(trustStore: trust, clock: FixedClock(1_790_000_000))
    let decoded = try LicenceToken.decode(token)
    let message = decoded.sign1.toBeSigned
    let signature = decoded.sign1.signature

    let measured = rates(seconds, [
        { verifier.verify(token).valid },
        { fast.isValidSignature(signature, for: message) },
        { openssl.isValidSignature(signature, for: message) },
        { (try? LicenceToken.decode(token)) != nil },
    ])
    let (full, signatureOnly, viaOpenSSL, decodeOnly) = (measured[0], measured[1], measured[2], measured[3])
    let implementation = switch fast {
    case is SM2Verifier: "ELicence SM2"
    case is OpenSSLVerifier: "OpenSSL"
    default: "swift-crypto"
    }
    let line: [String: Any] = [
        "alg": algorithm.name, "implementation": implementation,
        "verifier_per_s": full, "signature_per_s": signatureOnly, "openssl_evp_per_s": viaOpenSSL,
        "decode_per_s": decodeOnly, "token_chars": token.count,
    ]
    print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
}
