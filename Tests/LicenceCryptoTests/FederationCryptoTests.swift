import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceCrypto

/// Signed trust lists with real keys: export from a key directory, checks by independent
/// implementations (pycose for ES256 and EdDSA, the openssl command for SM2), import and refusal
/// under `authorities/`, and COSE headers read strictly for tokens, trust lists and status lists.
struct SignedTrustListCryptoTests {
    static let authority = Issuer(code: "11350000MB0001234X", name: "福建省大数据管理局")
    static let agency = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
    static let script = Paths.repositoryRoot + "/Tools/interop/cose_interop.py"

    /// A key directory with an issuer, a status and an anchor key of `algorithm`.
    static func directory(_ algorithm: SignatureAlgorithm, in dir: TemporaryDirectory) throws -> (KeyStore, TrustListDocument.Entry) {
        let keys = KeyStore(directory: dir.file("keys"))
        let now = SystemClock().now
        _ = try keys.generate(algorithm: .es256, role: .issuer, issuer: agency, validYears: 5, passphrase: nil, now: now)
        _ = try keys.generate(algorithm: .edDSA, role: .status, issuer: agency, validYears: 5, passphrase: nil, now: now)
        let anchor = try keys.generate(algorithm: algorithm, role: .anchor, issuer: authority, validYears: 10, passphrase: nil, now: now)
        return (keys, anchor)
    }

    static func export(_ keys: KeyStore, now: Int64 = SystemClock().now, validity: Int64 = 7 * 86_400) throws -> (SignedTrustList, [UInt8]) {
        let export = TrustListExport(keys: keys)
        return try export.signed(anchor: try export.anchor(passphrase: nil), now: now, validity: validity,
                                 statusBase: "https://fj.example.gov.cn/v1/status-lists/")
    }

    @Test func sequenceGrowsWithEveryKeyChange() throws {
        let dir = TemporaryDirectory()
        let (keys, _) = try Self.directory(.edDSA, in: dir)
        let first = try Self.export(keys).0
        #expect(first.sequence == 3)
        #expect(first.keys.count == 3)
        #expect(first.authorityCode == Self.authority.code)
        let issuer = try keys.activeKey(role: .issuer)
        try keys.setState(kid: issuer.kid, to: .compromised)
        let second = try Self.export(keys).0
        #expect(second.sequence == 4)
        #expect(second.keys.first { Hex.encode($0.kid) == issuer.kid }?.state == .compromised)
        #expect(second.keys.first { Hex.encode($0.kid) == issuer.kid }?.compromisedAt != nil)
    }

    @Test(arguments: [SignatureAlgorithm.es256, .edDSA])
    func pycoseVerifiesOurTrustLists(_ algorithm: SignatureAlgorithm) throws {
        let dir = TemporaryDirectory()
        let (keys, anchor) = try Self.directory(algorithm, in: dir)
        let (list, bytes) = try Self.export(keys)
        _ = try dir.write("list.cose", bytes: bytes)
        try dir.write("anchor.pem", anchor.publicKey)
        let result = try run("python3", [Self.script, "verify-trust-list", dir.file("list.cose"), dir.file("anchor.pem")])
        #expect(result.status == 0, "\(result)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["verified"] as? Bool == true)
        #expect(report?["tag18"] as? Bool == true)
        #expect(report?["typ"] as? String == SignedTrustList.typ)
        #expect(report?["kid"] as? String == anchor.kid)
        let claims = report?["claims"] as? [String: Any]
        #expect(claims?["1"] as? String == Self.authority.code)
        let body = claims?["-65538"] as? [String: Any]
        #expect(body?["1"] as? String == Self.authority.name)
        #expect((body?["2"] as? Int).map(UInt64.init) == list.sequence)
        #expect((body?["3"] as? [Any])?.count == 3)
        #expect(body?["4"] as? String == "https://fj.example.gov.cn/v1/status-lists/")

        var tampered = bytes
        tampered[tampered.count - 70] ^= 0x01
        _ = try dir.write("tampered.cose", bytes: tampered)
        #expect(try run("python3", [Self.script, "verify-trust-list", dir.file("tampered.cose"), dir.file("anchor.pem")]).status != 0)
    }

    @Test func opensslVerifiesSM2TrustLists() throws {
        let dir = TemporaryDirectory()
        let (keys, anchor) = try Self.directory(.sm2, in: dir)
        let bytes = try Self.export(keys).1
        _ = try dir.write("list.cose", bytes: bytes)
        try dir.write("anchor.pem", anchor.publicKey)
        let parts = try run("python3", [Self.script, "sm2-parts", dir.file("list.cose"), dir.path])
        #expect(parts.status == 0, "\(parts)")
        let verified = try run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", dir.file("anchor.pem"), "-rawin", "-digest", "sm3",
                                           "-pkeyopt", "distid:1234567812345678", "-in", dir.file("tbs"), "-sigfile", dir.file("sig.der")])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.contains("Signature Verified Successfully"))
        // The bytes openssl checked are ours: the signed structure of the list as exported.
        let sign1 = try COSESign1(decoding: bytes)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("tbs")))) == sign1.toBeSigned)
    }

    @Test func importAcceptsGoodListsAndKeepsTheLastGoodOne() throws {
        let dir = TemporaryDirectory()
        let (fujian, anchor) = try Self.directory(.sm2, in: dir)
        let now = SystemClock().now
        let (_, first) = try Self.export(fujian, now: now)
        let zhejiang = AuthorityDirectory(keys: KeyStore(directory: dir.file("zj-keys")))
        let accepted = try zhejiang.importAuthority(name: "fujian", anchorPEM: anchor.publicKey, url: "https://fj.example.gov.cn/v1/trust-list.cose",
                                                    file: nil, bytes: first, now: now)
        #expect(accepted.sequence == 3)
        #expect(zhejiang.names() == ["fujian"])
        let keys = zhejiang.trustedKeys().keys
        #expect(keys.count == 2)  // the issuer and the status key; the anchor verifies nothing but lists
        #expect(keys.allSatisfy { $0.authority?.name == "fujian" && $0.authority?.code == Self.authority.code })

        // A key change: a newer list replaces it.
        _ = try fujian.generate(algorithm: .sm2, role: .issuer, issuer: Self.agency, validYears: 5, passphrase: nil, now: now)
        let (_, second) = try Self.export(fujian, now: now + 10)
        #expect(try zhejiang.accept(name: "fujian", bytes: second, now: now + 10).sequence == 4)

        // Refused, each with the last good one kept: the older list, a changed byte, another signer, an expired list.
        #expect(throws: LicenceCryptoError.self) { try zhejiang.accept(name: "fujian", bytes: first, now: now + 20) }
        var changed = second
        changed[changed.count / 2] ^= 0x01
        #expect(throws: LicenceCryptoError.self) { try zhejiang.accept(name: "fujian", bytes: changed, now: now + 20) }
        let impostor = try PrivateKey.generate(.sm2)
        let forged = try TrustListExport.list(document: fujian.loadDocument(), anchor: anchor, now: now + 20, validity: 86_400,
                                              statusBase: "https://evil.example/v1/status-lists/").signed(with: impostor.signer)
        #expect(throws: LicenceCryptoError.self) { try zhejiang.accept(name: "fujian", bytes: forged, now: now + 20) }
        let (_, shortLived) = try Self.export(fujian, now: now + 30, validity: 60)
        #expect(throws: LicenceCryptoError.self) { try zhejiang.accept(name: "fujian", bytes: shortLived, now: now + 100) }

        let stored = try zhejiang.load("fujian")
        #expect(stored.list?.sequence == 4)
        #expect(stored.metadata.lastFailure?.contains("expired") == true)
        #expect(stored.metadata.url == "https://fj.example.gov.cn/v1/trust-list.cose")
        // Re-importing keeps the sequence: the old list is still a rollback.
        #expect(throws: LicenceCryptoError.self) {
            try zhejiang.importAuthority(name: "fujian", anchorPEM: anchor.publicKey, url: nil, file: "/x", bytes: first, now: now + 40)
        }
        try zhejiang.remove(name: "fujian")
        #expect(zhejiang.names().isEmpty)
    }

    @Test func aListSignedByTheNewAnchorIsAcceptedWhileBothAreConfigured() throws {
        let dir = TemporaryDirectory()
        let (fujian, oldAnchor) = try Self.directory(.es256, in: dir)
        let now = SystemClock().now
        let importer = AuthorityDirectory(keys: KeyStore(directory: dir.file("zj-keys")))
        try importer.importAuthority(name: "fujian", anchorPEM: oldAnchor.publicKey, url: nil, file: "/f", bytes: try Self.export(fujian, now: now).1,
                                     now: now)
        let newAnchor = try fujian.generate(algorithm: .edDSA, role: .anchor, issuer: Self.authority, validYears: 10, passphrase: nil, now: now + 1)
        try fujian.setState(kid: oldAnchor.kid, to: .retired)
        let signedByNew = try Self.export(fujian, now: now + 2).1
        #expect(throws: LicenceCryptoError.self) { try importer.accept(name: "fujian", bytes: signedByNew, now: now + 2) }
        try importer.importAuthority(name: "fujian", anchorPEM: oldAnchor.publicKey + newAnchor.publicKey, url: nil, file: "/f",
                                     bytes: signedByNew, now: now + 3)
        #expect(try importer.load("fujian").anchors.count == 2)
    }
}

struct StrictCOSEWithRealKeysTests {
    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")

    /// A COSE_Sign1 over `payload`, signed by `key`, with the headers given.
    static func sign(_ payload: [UInt8], key: PrivateKey, protected extra: [CBOR.Entry], unprotected: [CBOR.Entry]) throws -> COSESign1 {
        let protectedBytes = CBOR.map([.init(.int(1), .int(key.algorithm.rawValue)), .init(.int(4), .bytes(key.kid))] + extra).encoded()
        let signature = try key.signer.sign(COSESign1.toBeSigned(protectedBytes: protectedBytes, payload: payload))
        return COSESign1(protectedBytes: protectedBytes, unprotected: unprotected, payload: payload, signature: signature)
    }

    static let variants: [(String, [CBOR.Entry], [CBOR.Entry])] = [
        ("crit names an unknown parameter", [.init(.int(2), .array([.int(-70000)])), .init(.int(-70000), .bool(true))], []),
        ("crit names a text label", [.init(.int(2), .array([.text("x-must-understand")])), .init(.text("x-must-understand"), .int(1))], []),
        ("alg in both headers", [], [.init(.int(1), .int(-7))]),
        ("kid in both headers", [], [.init(.int(4), .bytes([1, 2, 3, 4, 5, 6, 7, 8]))]),
    ]

    @Test(arguments: [SignatureAlgorithm.sm2, .es256, .edDSA])
    func tokens(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let trust = TrustList([TrustedKey(kid: key.kid, role: .issuer, issuer: Self.issuer, notBefore: 0, notAfter: .max, state: .active,
                                          verifier: try PublicKeys.verifier(spki: key.publicKeyDER))])
        let now: Int64 = 1_780_286_400
        let claims = try ClaimsMaker.claims(issuedAt: now - 60)
        // Signed the usual way, the token is valid: only the headers make the difference.
        let plain = try Self.sign(claims.encoded, key: key, protected: [], unprotected: [])
        #expect(Verifier(trustStore: trust, clock: FixedClock(now)).verify(LicenceToken.encode(sign1: plain)).outcome == .valid)
        for (what, protected, unprotected) in Self.variants {
            let sign1 = try Self.sign(claims.encoded, key: key, protected: protected, unprotected: unprotected)
            let outcome = Verifier(trustStore: trust, clock: FixedClock(now)).verify(LicenceToken.encode(sign1: sign1)).outcome
            guard case .malformed(.cose, _) = outcome else { Issue.record("\(algorithm.name) token, \(what): \(outcome)"); continue }
        }
    }

    @Test(arguments: [SignatureAlgorithm.sm2, .es256, .edDSA])
    func trustLists(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let anchors: [(kid: [UInt8], verifier: any SignatureVerifier)] = [(key.kid, try PublicKeys.verifier(spki: key.publicKeyDER))]
        let now: Int64 = 1_780_286_400
        let list = SignedTrustList(authorityCode: "11350000MB0001234X", authorityName: "福建省大数据管理局", issuedAt: now, expires: now + 3600,
                                   sequence: 1, keys: [], statusBase: "https://fj.example.gov.cn/v1/status-lists/")
        let typ = CBOR.Entry(.int(16), .text(SignedTrustList.typ))
        let good = try Self.sign(list.payload, key: key, protected: [typ], unprotected: [])
        #expect(try SignedTrustList.verify(good.encoded(), anchors: anchors, now: now) == list)
        for (what, protected, unprotected) in Self.variants {
            let sign1 = try Self.sign(list.payload, key: key, protected: [typ] + protected, unprotected: unprotected)
            do {
                _ = try SignedTrustList.verify(sign1.encoded(), anchors: anchors, now: now)
                Issue.record("\(algorithm.name) trust list, \(what): accepted")
            } catch {
                guard case .malformed(let detail) = error, detail.hasPrefix("cose") else { Issue.record("\(what): \(error)"); continue }
            }
        }
        // typ repeated in the unprotected header too.
        let twice = try Self.sign(list.payload, key: key, protected: [typ], unprotected: [typ])
        #expect(throws: SignedTrustList.Failure.self) { try SignedTrustList.verify(twice.encoded(), anchors: anchors, now: now) }
    }

    @Test(arguments: [SignatureAlgorithm.sm2, .es256, .edDSA])
    func statusLists(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let trust = TrustList([TrustedKey(kid: key.kid, role: .status, issuer: Self.issuer, notBefore: 0, notAfter: .max, state: .active,
                                          verifier: try PublicKeys.verifier(spki: key.publicKeyDER))])
        let good = try StatusListToken(uri: "https://fj.example.gov.cn/v1/status-lists/0", issuedAt: 1, expires: nil, ttl: 60,
                                       list: StatusList(count: 8)).signed(with: key.signer)
        #expect(throws: Never.self) { try StatusListToken.verify(good, trustStore: trust) }
        let payload = try COSESign1(decoding: good).payload
        let typ = CBOR.Entry(.int(16), .text(StatusListToken.mediaType))
        for (what, protected, unprotected) in Self.variants {
            let sign1 = try Self.sign(payload, key: key, protected: [typ] + protected, unprotected: unprotected)
            do {
                _ = try StatusListToken.verify(sign1.encoded(), trustStore: trust)
                Issue.record("\(algorithm.name) status list, \(what): accepted")
            } catch {
                guard case .malformed = error else { Issue.record("\(what): \(error)"); continue }
            }
        }
    }
}

/// Licence claims for the tests above.
enum ClaimsMaker {
    static func claims(issuedAt: Int64) throws -> LicenceClaims {
        let licence = try LicenceDocument(
            type: "11100000000013338W011", typeName: "营业执照", number: "闽市监2026第000777号",
            holder: .init(name: "福州某某科技有限公司", code: "91350100MA2Y01111F", codeType: "001"),
            issuer: .init(name: "福州市市场监督管理局", code: "11350000003591037R"), validFrom: "2026-01-15", validUntil: .date("2046-01-14"),
            fields: [:]).validated()
        let id = try LicenceIdentifier.sequential(typeCode: licence.typeCode, issuerCode: licence.issuer.code, year: 2026, sequence: 777)
        return LicenceClaims(licence: licence, identifier: id, issuedAt: issuedAt, status: nil)
    }
}
