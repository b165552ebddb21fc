import Foundation
import LicenceCore
import LicenceCrypto

// In-process verification speed, one core, for each algorithm: the whole Verifier on a realistic
// token (decode, signature, checks), the bare signature check of the implementation the Verifier
// uses, and OpenSSL's own EVP verification for comparison. Rates are per second of the thread's
// CPU time, as in `openssl speed`. Prints one JSON object per line.
//   elicence-bench [seconds]

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "3") ?? 3

/// CPU time of the calling thread, in seconds. `openssl speed` divides by CPU time too (user time,
/// unless given -elapsed), so a ratio between the two holds on a machine that others share.
func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func rate(_ seconds: Double, _ body: () -> Bool) -> Double {
    var count = 0
    let start = cpuSeconds()
    var ok = true
    while true {
        for _ in 0..<50 { ok = body() && ok; count += 1 }
        let elapsed = cpuSeconds() - start
        if elapsed >= seconds {
            precondition(ok, "a verification failed during the benchmark")
            return Double(count) / elapsed
        }
    }
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
    let id = try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: issuer.code, year: 2026, using: &random)
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

    let full = rate(seconds) { verifier.verify(token).valid }
    let signatureOnly = rate(seconds) { fast.isValidSignature(signature, for: message) }
    let viaOpenSSL = rate(seconds) { openssl.isValidSignature(signature, for: message) }
    let decodeOnly = rate(seconds / 2) { (try? LicenceToken.decode(token)) != nil }
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
