import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceCrypto

/// SM2-with-SM3 against the `openssl` command, both ways, with the distinguishing ID
/// 1234567812345678.
struct SM2InteropTests {
    let message = Array("电子证照 SM2 互认测试 / electronic licence SM2 interop".utf8)

    @Test func ourSignatureVerifiesWithOpenSSLCommand() throws {
        let dir = TemporaryDirectory()
        let key = try PrivateKey.generate(.sm2)
        let raw = try key.signer.sign(message)
        #expect(raw.count == 64)
        let der = try #require(ECDSASignatureFormat.derFromRaw(raw))
        try dir.write("pub.pem", key.publicKeyPEM)
        _ = try dir.write("msg", bytes: message)
        _ = try dir.write("sig.der", bytes: der)
        let verified = try run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", dir.file("pub.pem"), "-rawin",
                                           "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                                           "-in", dir.file("msg"), "-sigfile", dir.file("sig.der")])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.contains("Signature Verified Successfully"))
        // The same signature does not verify under OpenSSL's default (empty) ID: ours really used the ID.
        let emptyID = try run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", dir.file("pub.pem"), "-rawin",
                                          "-digest", "sm3", "-in", dir.file("msg"), "-sigfile", dir.file("sig.der")])
        #expect(emptyID.status != 0)
        let dgst = try run("openssl", ["dgst", "-sm3", "-verify", dir.file("pub.pem"), "-sigopt", "distid:1234567812345678",
                                       "-signature", dir.file("sig.der"), dir.file("msg")])
        #expect(dgst.status == 0, "\(dgst)")
    }

    @Test func openSSLSignatureVerifiesWithOurs() throws {
        let dir = TemporaryDirectory()
        let genkey = try run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", dir.file("key.pem")])
        #expect(genkey.status == 0, "\(genkey)")
        #expect(try run("openssl", ["pkey", "-in", dir.file("key.pem"), "-pubout", "-out", dir.file("pub.pem")]).status == 0)
        _ = try dir.write("msg", bytes: message)
        let signed = try run("openssl", ["pkeyutl", "-sign", "-inkey", dir.file("key.pem"), "-rawin", "-digest", "sm3",
                                         "-pkeyopt", "distid:1234567812345678", "-in", dir.file("msg"), "-out", dir.file("sig.der")])
        #expect(signed.status == 0, "\(signed)")
        let der = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("sig.der"))))
        let raw = try #require(ECDSASignatureFormat.rawFromDER(der))
        let verifier = try PublicKeys.verifier(pem: try dir.read("pub.pem"))
        #expect(verifier.algorithm == .sm2)
        #expect(verifier.isValidSignature(raw, for: message))
        #expect(!verifier.isValidSignature(raw, for: message + [0]))
        var flipped = raw
        flipped[40] ^= 1
        #expect(!verifier.isValidSignature(flipped, for: message))

        // OpenSSL's key file loads as an SM2 signing key with the kid of its public key.
        let key = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("key.pem")))), passphrase: nil)
        #expect(key.algorithm == .sm2)
        #expect(key.kid == KeyID.of(spki: try #require(PEM.decode(try dir.read("pub.pem"), label: "PUBLIC KEY"))))
    }

    @Test func signaturesWithAnEmptyIDAreRejected() throws {
        let dir = TemporaryDirectory()
        let key = try PrivateKey.generate(.sm2)
        try dir.write("key.pem", String(decoding: try key.pkcs8PEM(passphrase: nil), as: UTF8.self), mode: 0o600)
        _ = try dir.write("msg", bytes: message)
        // openssl with no distid signs with the empty ID, which our verifier must not accept.
        let signed = try run("openssl", ["pkeyutl", "-sign", "-inkey", dir.file("key.pem"), "-rawin", "-digest", "sm3",
                                         "-in", dir.file("msg"), "-out", dir.file("sig.der")])
        #expect(signed.status == 0, "\(signed)")
        let raw = try #require(ECDSASignatureFormat.rawFromDER(Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("sig.der"))))))
        #expect(try !OpenSSLVerifier(spki: key.publicKeyDER).isValidSignature(raw, for: message))
    }
}

/// ES256 and EdDSA tokens against pycose, an independent COSE implementation, both ways.
struct COSEInteropTests {
    static let script = Paths.repositoryRoot + "/Tools/interop/cose_interop.py"
    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")

    @Test(arguments: [SignatureAlgorithm.es256, .edDSA])
    func ourTokensVerifyWithPycose(_ algorithm: SignatureAlgorithm) throws {
        let dir = TemporaryDirectory()
        let key = try PrivateKey.generate(algorithm)
        let licence = try LicenceDocument(
            type: "11100000000013338W011", typeName: "营业执照", number: "闽市监2026第000123号",
            holder: .init(name: "福州某某科技有限公司", code: "91350100MA2Y01111F", codeType: "001"),
            issuer: .init(name: Self.issuer.name, code: Self.issuer.code), validFrom: "2026-01-15", validUntil: .date("2046-01-14"),
            fields: ["注册资本": "100万元人民币"]).validated()
        var random = SystemRandomNumberGenerator()
        let id = try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: licence.issuer.code, at: 1_780_000_000, using: &random)
        let claims = LicenceClaims(licence: licence, identifier: id, issuedAt: 1_780_000_000,
                                   status: StatusReference(index: 17, uri: "https://licence.example.gov.cn/v1/status-lists/0"))
        let token = try LicenceToken.sign(claims, with: key.signer)
        try dir.write("token.txt", token)
        try dir.write("pub.pem", key.publicKeyPEM)
        let result = try run("python3", [Self.script, "verify", dir.file("token.txt"), dir.file("pub.pem")])
        #expect(result.status == 0, "\(result)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["verified"] as? Bool == true)
        #expect(report?["tag18"] as? Bool == true)
        #expect(report?["kid"] as? String == Hex.encode(key.kid))
        let cwt = report?["claims"] as? [String: Any]
        #expect(cwt?["1"] as? String == Self.issuer.code)
        #expect((cwt?["-65537"] as? [String: Any])?["4"] as? String == "福州某某科技有限公司")

        // A tampered token fails there too.
        var sign1 = try LicenceToken.decode(token).sign1
        sign1.signature[5] ^= 0x01
        try dir.write("tampered.txt", LicenceToken.encode(sign1: sign1))
        let tampered = try run("python3", [Self.script, "verify", dir.file("tampered.txt"), dir.file("pub.pem")])
        #expect(tampered.status != 0)
    }

    @Test(arguments: [SignatureAlgorithm.es256, .edDSA])
    func pycoseTokensVerifyWithOurs(_ algorithm: SignatureAlgorithm) throws {
        let dir = TemporaryDirectory()
        let key = try PrivateKey.generate(algorithm)
        try dir.write("key.pem", String(decoding: try key.pkcs8PEM(passphrase: nil), as: UTF8.self), mode: 0o600)
        let made = try run("python3", [Self.script, "sign", algorithm.name, dir.file("key.pem"), Hex.encode(key.kid),
                                       Self.issuer.code, dir.file("token.txt")])
        #expect(made.status == 0, "\(made)")
        let token = try dir.read("token.txt")
        let trust = TrustList([TrustedKey(kid: key.kid, role: .issuer, issuer: Self.issuer, notBefore: 0, notAfter: .max,
                                          state: .active, verifier: try PublicKeys.verifier(spki: key.publicKeyDER))])
        let result = Verifier(trustStore: trust, clock: FixedClock(Int64(Date().timeIntervalSince1970))).verify(token)
        #expect(result.outcome == .valid, "\(result.outcome)")
        #expect(result.claims?.holderName == "厦门某某信息技术有限公司")
        #expect(result.claims?.validUntil == nil)
        #expect(result.claims?.fields == ["经营范围": "软件开发"])
    }
}

/// The fast verifiers (swift-crypto for ES256 and Ed25519, CSM2 for SM2) must agree with OpenSSL.
struct VerifierCrossCheckTests {
    @Test(arguments: [SignatureAlgorithm.es256, .edDSA, .sm2])
    func fastVerifierAgreesWithOpenSSL(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let fast = try PublicKeys.verifier(spki: key.publicKeyDER)
        let openssl = try OpenSSLVerifier(spki: key.publicKeyDER)
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 31, 200, 1000] {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let signature = try key.signer.sign(message)
            #expect(fast.isValidSignature(signature, for: message))
            #expect(openssl.isValidSignature(signature, for: message))
            var bad = signature
            bad[Int.random(in: 0..<64, using: &generator)] ^= 0x80
            #expect(fast.isValidSignature(bad, for: message) == openssl.isValidSignature(bad, for: message))
            #expect(!openssl.isValidSignature(bad, for: message))
            #expect(!fast.isValidSignature(Array(signature.prefix(63)), for: message))
        }
        #expect(!(fast is OpenSSLVerifier))
    }

    @Test func ecdsaSignatureConversionRoundTrips() throws {
        let key = try PrivateKey.generate(.es256)
        for _ in 0..<50 {
            let signer = OpenSSLSigner(key: key)
            let der = try signer.signDER([1, 2, 3])
            let raw = try #require(ECDSASignatureFormat.rawFromDER(der))
            #expect(raw.count == 64)
            #expect(ECDSASignatureFormat.derFromRaw(raw) == der)
        }
        #expect(ECDSASignatureFormat.rawFromDER([0x30, 0x03, 0x02, 0x01]) == nil)
    }
}
