import TestSupport
import Testing
@testable import LicenceCore

struct FixedStatus: StatusSource {
    var answer: LicenceStatusAnswer
    func status(of claims: LicenceClaims, now: Int64) -> LicenceStatusAnswer { answer }
}

enum Fixtures {
    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
    static let key = FakeKey(secret: 7)
    static let issuedAt: Int64 = 1_764_000_000  // 2025-11-24

    static func licence(validUntil: String? = "2046-01-14", holderCode: String = "91350100MA2Y01111F",
                        codeType: String = "001") throws -> Licence {
        try LicenceDocument(type: "11100000000013338W011", typeName: "营业执照", number: "闽市监2026第000123号",
                            holder: .init(name: "福州某某科技有限公司", code: holderCode, codeType: codeType),
                            issuer: .init(name: issuer.name, code: issuer.code), validFrom: "2026-01-15",
                            validUntil: validUntil.map { .date($0) } ?? .openEnded,
                            fields: ["注册资本": "100万元人民币", "法定代表人": "张三"]).validated()
    }

    static func claims(_ licence: Licence, status: StatusReference? = nil) throws -> LicenceClaims {
        let id = try LicenceIdentifier.sequential(typeCode: licence.typeCode, issuerCode: licence.issuer.code, year: 2026,
                                                  sequence: 123)
        return LicenceClaims(licence: licence, identifier: id, issuedAt: issuedAt, status: status)
    }

    static func token(validUntil: String? = "2046-01-14", signer: FakeKey = key) throws -> String {
        try LicenceToken.sign(claims(licence(validUntil: validUntil)), with: signer)
    }

    static func trust(_ state: KeyState = .active, issuer: Issuer = issuer, role: KeyRole = .issuer,
                      key: FakeKey = key) -> TrustList {
        TrustList([TrustedKey(kid: key.kid, role: role, issuer: issuer, notBefore: 0, notAfter: Int64.max, state: state,
                              verifier: key)])
    }

    /// 2026-06-01T12:00+08:00, inside the licence's validity.
    static let midValidity: Int64 = 1_780_286_400

    static func verifier(_ trust: TrustList = trust(), status: any StatusSource = NoStatusSource(),
                         now: Int64 = midValidity, requireStatus: Bool = false) -> Verifier {
        Verifier(trustStore: trust, statusSource: status, clock: FixedClock(now), requireStatus: requireStatus)
    }
}

struct TokenRoundTripTests {
    @Test func claimsSurviveTheRoundTrip() throws {
        let claims = try Fixtures.claims(Fixtures.licence(), status: StatusReference(index: 4711, uri: "https://licence.example.gov.cn/v1/status-lists/3"))
        let token = try LicenceToken.sign(claims, with: Fixtures.key)
        #expect(token.hasPrefix("EL1:"))
        #expect(token.utf8.allSatisfy { Base45.values[Int($0)] != 0xff || $0 == UInt8(ascii: ":") })
        let decoded = try LicenceToken.decode(token)
        #expect(decoded.claims == claims)
        #expect(decoded.algorithm == .edDSA)
        #expect(decoded.kid == Fixtures.key.kid)
        // The payload is deterministic CBOR, and the envelope is tag 18.
        #expect(throws: Never.self) { try CBORDecoder.decode(decoded.sign1.payload, limits: .init(requireDeterministic: true)) }
        #expect(decoded.coseBytes.first == 0xd2)
        #expect(decoded.sign1.protectedBytes == COSESign1.protectedHeader(algorithm: .edDSA, kid: Fixtures.key.kid))
    }

    @Test func claimKeysAreTheDesignedOnes() throws {
        let claims = try Fixtures.claims(Fixtures.licence(), status: StatusReference(index: 9, uri: "https://x/v1/status-lists/0"))
        let map = claims.cbor
        #expect(map[1] == "11350000003591037R")
        #expect(map[5] == .int(1_768_406_400))
        #expect(map[4] == .int(try CalendarDate(parsing: "2046-01-15").startInChina))
        #expect(map[6] == .int(Fixtures.issuedAt))
        #expect(map[7] == .bytes(Array(claims.identifier.description.utf8)))
        #expect(map[65535]?[.text("status_list")]?[.text("idx")] == 9)
        let licence = try #require(map[-65537])
        #expect(licence[1] == "11100000000013338W011")
        #expect(licence[3] == "闽市监2026第000123号")
        #expect(licence[9] == "2046-01-14")
        #expect(licence[10] == 1)
        #expect(licence[11]?[.text("注册资本")] == "100万元人民币")
    }

    @Test func openEndedLicencesHaveNoExp() throws {
        let claims = try Fixtures.claims(Fixtures.licence(validUntil: nil))
        #expect(claims.cbor[4] == nil)
        #expect(claims.cbor[-65537]?[9] == .null)
        let decoded = try LicenceToken.decode(LicenceToken.sign(claims, with: Fixtures.key))
        #expect(decoded.claims.expires == nil && decoded.claims.validUntil == nil)
    }

    @Test func citizenIDNumbersAreMasked() throws {
        let licence = try Fixtures.licence(holderCode: "11010519491231002X", codeType: "111")
        let decoded = try LicenceToken.decode(LicenceToken.sign(Fixtures.claims(licence), with: Fixtures.key))
        #expect(decoded.claims.holderCode == "110105********002X")
        #expect(!decoded.coseBytes.containsSubsequence(Array("11010519491231002X".utf8)))
    }

    @Test func onlyDisclosedFieldsEnterTheToken() throws {
        let licence = try Fixtures.licence()
        let id = try LicenceIdentifier.sequential(typeCode: licence.typeCode, issuerCode: licence.issuer.code, year: 2026, sequence: 1)
        let claims = LicenceClaims(licence: licence, identifier: id, issuedAt: 0, status: nil, disclosedFields: ["法定代表人"])
        #expect(claims.fields == ["法定代表人": "张三"])
    }
}

struct VerifierOutcomeTests {
    @Test func validWithoutStatusSaysStatusWasNotChecked() throws {
        let result = Fixtures.verifier().verify(try Fixtures.token())
        #expect(result.outcome == .valid)
        #expect(!result.statusChecked)
        #expect(result.message.en.contains("not checked"))
        #expect(result.claims?.holderName == "福州某某科技有限公司")
    }

    @Test func requireStatusTurnsUncheckedIntoStatusUnavailable() throws {
        let result = Fixtures.verifier(requireStatus: true).verify(try Fixtures.token())
        #expect(result.outcome.code == "status_unavailable")
    }

    @Test(arguments: [
        (LicenceStatusAnswer.valid, "valid", true), (.revoked, "revoked", true), (.suspended, "suspended", true),
        (.superseded, "superseded", true), (.unknownLicence, "unknown_licence", true),
        (.unavailable(BilingualMessage(zh: "列表已过期。", en: "list expired")), "status_unavailable", false),
    ])
    func statusAnswers(_ answer: LicenceStatusAnswer, _ code: String, _ checked: Bool) throws {
        let result = Fixtures.verifier(status: FixedStatus(answer: answer)).verify(try Fixtures.token())
        #expect(result.outcome.code == code)
        #expect(result.statusChecked == checked)
        #expect(!result.message.zh.isEmpty && !result.message.en.isEmpty)
    }

    @Test func unknownKey() throws {
        let result = Fixtures.verifier(Fixtures.trust(key: FakeKey(secret: 8))).verify(try Fixtures.token())
        #expect(result.outcome == .unknownKey)
        // A status key with the right kid does not make an issuer key.
        #expect(Fixtures.verifier(Fixtures.trust(role: .status)).verify(try Fixtures.token()).outcome == .unknownKey)
    }

    @Test func everyKeySharingTheKidIsTried() throws {
        let impostor = FakeKey(secret: 99, kid: Fixtures.key.kid)
        let trust = TrustList([
            TrustedKey(kid: impostor.kid, role: .issuer, issuer: Fixtures.issuer, notBefore: 0, notAfter: .max, state: .active, verifier: impostor),
            TrustedKey(kid: Fixtures.key.kid, role: .issuer, issuer: Fixtures.issuer, notBefore: 0, notAfter: .max, state: .active, verifier: Fixtures.key),
        ])
        #expect(Fixtures.verifier(trust).verify(try Fixtures.token()).outcome == .valid)
    }

    @Test func badSignature() throws {
        let forger = FakeKey(secret: 1234, kid: Fixtures.key.kid)
        #expect(Fixtures.verifier().verify(try Fixtures.token(signer: forger)).outcome == .badSignature)
    }

    @Test func tamperedPayloadFailsTheSignature() throws {
        let decoded = try LicenceToken.decode(try Fixtures.token())
        var claims = decoded.claims
        claims.holderName = "另一家公司"
        var sign1 = decoded.sign1
        sign1.payload = claims.encoded
        #expect(Fixtures.verifier().verify(LicenceToken.encode(sign1: sign1)).outcome == .badSignature)
    }

    @Test func issuerMismatch() throws {
        let other = Issuer(code: "11430000006122244L", name: "another agency")
        #expect(Fixtures.verifier(Fixtures.trust(issuer: other)).verify(try Fixtures.token()).outcome == .issuerMismatch)
    }

    @Test func compromisedAndRetiredKeys() throws {
        #expect(Fixtures.verifier(Fixtures.trust(.compromised)).verify(try Fixtures.token()).outcome == .keyCompromised)
        #expect(Fixtures.verifier(Fixtures.trust(.retired)).verify(try Fixtures.token()).outcome == .valid)
    }

    @Test func validityPeriodWithSkew() throws {
        let token = try Fixtures.token(validUntil: "2026-12-31")
        let nbf: Int64 = 1_768_406_400  // 2026-01-15T00:00+08:00
        let exp = try CalendarDate(parsing: "2027-01-01").startInChina
        #expect(Fixtures.verifier(now: nbf - 301).verify(token).outcome == .notYetValid)
        #expect(Fixtures.verifier(now: nbf - 299).verify(token).outcome == .valid)
        #expect(Fixtures.verifier(now: exp + 299).verify(token).outcome == .valid)
        #expect(Fixtures.verifier(now: exp + 300).verify(token).outcome == .expired)
        // Open-ended licences never expire.
        #expect(Fixtures.verifier(now: 4_000_000_000).verify(try Fixtures.token(validUntil: nil)).outcome == .valid)
    }

    @Test func malformedTokensNameTheirLayer() throws {
        let good = try Fixtures.token()
        let body = String(good.dropFirst(4))
        let decoded = try LicenceToken.decode(good)
        func token(cose: [UInt8]) -> String { LicenceToken.encode(coseBytes: cose) }
        var untaggedArray3 = CBOR.array([.bytes(decoded.sign1.protectedBytes), .map([]), .bytes(decoded.sign1.payload)])
        let cases: [(String, TokenLayer)] = [
            ("", .prefix), ("HC1:" + body, .prefix), ("el1:" + body, .prefix),
            ("EL1:" + body.dropLast(1), .base45), ("EL1:abc", .base45),
            ("EL1:" + Base45.encode(Array("not zlib at all".utf8)), .zlib),
            ("EL1:" + Base45.encode(Array(decoded.compressed.dropLast(5))), .zlib),
            (token(cose: [0xd2, 0x84, 0x40]), .cbor),
            (token(cose: untaggedArray3.encoded()), .cose),
            (token(cose: CBOR.tagged(17, .array([])).encoded()), .cose),
            (token(cose: COSESign1(protectedBytes: CBOR.map([.init(1, -7)]).encoded(), payload: decoded.sign1.payload,
                                   signature: decoded.sign1.signature).encoded()), .cose),
            (token(cose: COSESign1(protectedBytes: CBOR.map([.init(1, -257), .init(4, .bytes([1]))]).encoded(),
                                   payload: decoded.sign1.payload, signature: decoded.sign1.signature).encoded()), .cose),
            (token(cose: COSESign1(protectedBytes: decoded.sign1.protectedBytes, payload: decoded.sign1.payload,
                                   signature: Array(decoded.sign1.signature.prefix(63))).encoded()), .cose),
            (token(cose: COSESign1(protectedBytes: decoded.sign1.protectedBytes, payload: [0x83, 0x01],
                                   signature: decoded.sign1.signature).encoded()), .cbor),
            (token(cose: COSESign1(protectedBytes: decoded.sign1.protectedBytes, payload: CBOR.map([.init(1, "x")]).encoded(),
                                   signature: decoded.sign1.signature).encoded()), .claims),
        ]
        untaggedArray3 = .null
        for (text, layer) in cases {
            let result = Fixtures.verifier().verify(text)
            guard case .malformed(let actual, let detail) = result.outcome else {
                Issue.record("\(text.prefix(20)) gave \(result.outcome.code), expected malformed at \(layer)")
                continue
            }
            #expect(actual == layer, "\(detail)")
            #expect(!result.valid && result.claims == nil)
        }
    }

    @Test func inconsistentClaimsAreMalformed() throws {
        var claims = try Fixtures.claims(Fixtures.licence())
        claims.issuerCode = "11430000006122244L"
        let result = Fixtures.verifier().verify(try LicenceToken.sign(claims, with: Fixtures.key))
        #expect(result.outcome == .malformed(layer: .claims, detail: "cti names issuer 11350000003591037R but iss is 11430000006122244L"))
    }

    @Test func oversizedTokensAreRefusedEarly() {
        let result = Fixtures.verifier().verify("EL1:" + String(repeating: "0", count: 100_000))
        #expect(result.outcome.code == "malformed")
        let bomb = LicenceToken.encode(coseBytes: [UInt8](repeating: 0x40, count: 1_000_000))
        guard case .malformed(.zlib, let detail) = Fixtures.verifier().verify(bomb).outcome else {
            Issue.record("a decompression bomb must fail at the zlib layer")
            return
        }
        #expect(detail.contains("65536"))
    }

    @Test func scannerLineEndsAreIgnored() throws {
        #expect(Fixtures.verifier().verify(try Fixtures.token() + "\r\n").outcome == .valid)
    }

    @Test func randomMutationsNeverCrash() throws {
        let good = Array(try Fixtures.token().utf8)
        var generator = SplitMix64(seed: 7)
        let verifier = Fixtures.verifier()
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 4..<bytes.count, using: &generator)
                bytes[index] = Base45.alphabet.randomElement(using: &generator)!
            }
            let result = verifier.verify(String(decoding: bytes, as: UTF8.self))
            #expect(result.outcome != .valid || bytes == good)
        }
    }
}

struct LicenceDocumentTests {
    static func document(_ change: (inout LicenceDocument) -> Void) -> LicenceDocument {
        var document = LicenceDocument(type: "11100000000013338W011", typeName: "营业执照", number: "1",
                                       holder: .init(name: "某公司", code: "91350100MA2Y01111F", codeType: "001"),
                                       issuer: .init(name: "福州市市场监督管理局", code: "11350000003591037R"),
                                       validFrom: "2026-01-15", validUntil: .date("2046-01-14"))
        change(&document)
        return document
    }

    static let badDocuments: [(String, LicenceDocument)] = [
        ("holder.code", document { $0.holder?.code = "91350100MA2Y01111A" }),
        ("holder.codeType", document { $0.holder?.codeType = "002" }),
        ("holder.name", document { $0.holder?.name = "  " }),
        ("type", document { $0.type = nil }),
        ("type", document { $0.type = "营业执照" }),
        ("number", document { $0.number = nil }),
        ("validFrom", document { $0.validFrom = "2026/01/15" }),
        ("validUntil", document { $0.validUntil = .date("2025-01-01") }),
        ("issuer.code", document { $0.issuer?.code = "11350000003591037A" }),
        ("issuer", document { $0.issuer = nil }),
    ]

    @Test(arguments: badDocuments)
    func errorsNameTheField(_ field: String, _ document: LicenceDocument) {
        #expect {
            _ = try document.validated()
        } throws: { error in
            (error as? LicenceCoreError)?.field == field
        }
    }

    @Test func wrongHolderCheckNamesTheExpectedCharacter() {
        #expect {
            _ = try Self.document { $0.holder?.code = "91350100MA2Y01111A" }.validated()
        } throws: { error in
            (error as? LicenceCoreError)?.description == "holder.code: 统一社会信用代码 91350100MA2Y01111A has check character A; expected F"
        }
    }

    @Test func validUntilAbsentNullOrDate() throws {
        let tenYears = { (from: CalendarDate) in from.adding(years: 10).adding(days: -1) }
        #expect(try Self.document { $0.validUntil = .absent }.validated(defaultValidUntil: tenYears).validUntil?.description == "2036-01-14")
        #expect(try Self.document { $0.validUntil = .openEnded }.validated(defaultValidUntil: tenYears).validUntil == nil)
        #expect(try Self.document { $0.validUntil = .absent }.validated().validUntil == nil)
    }

    @Test func holderCodeTypeIsInferredWhenUnambiguous() throws {
        #expect(try Self.document { $0.holder?.codeType = nil }.validated().holder.code.kind == .creditCode)
        let citizen = try Self.document { $0.holder = .init(name: "张三", code: "11010519491231002X") }.validated()
        #expect(citizen.holder.code.kind == .citizenID)
    }

    @Test func issuerDefaultsToTheSigningKeysAgency() throws {
        let licence = try Self.document { $0.issuer = nil }.validated(defaultIssuer: Fixtures.issuer)
        #expect(licence.issuer == Fixtures.issuer)
        #expect(throws: LicenceCoreError.self) {
            try Self.document { $0.issuer?.code = "11430000006122244L" }.validated(defaultIssuer: Fixtures.issuer)
        }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}

/// A cache in a dictionary, for checking what the verifier does with one.
final class DictionaryCache: VerificationCache, @unchecked Sendable {
    // @unchecked: used from one test at a time.
    var entries: [String: VerifiedToken] = [:]
    func lookup(_ token: String) -> VerifiedToken? { entries[token] }
    func store(_ token: String, _ verified: VerifiedToken) { entries[token] = verified }
}

struct VerificationCacheTests {
    @Test func cachedTokensStillGetEveryCheckButTheSignature() throws {
        let token = try Fixtures.token()
        let cache = DictionaryCache()
        var verifier = Fixtures.verifier()
        verifier.cache = cache
        #expect(verifier.verify(token).outcome == .valid)
        #expect(cache.entries.count == 1)
        // Status, key state and trust are looked at again on a cache hit.
        verifier.statusSource = FixedStatus(answer: .revoked)
        #expect(verifier.verify(token).outcome == .revoked)
        verifier.trustStore = Fixtures.trust(.compromised)
        #expect(verifier.verify(token).outcome == .keyCompromised)
        verifier.trustStore = Fixtures.trust(key: FakeKey(secret: 99))
        #expect(verifier.verify(token).outcome == .unknownKey)
        // A token whose signature fails is never cached.
        let forged = try Fixtures.token(signer: FakeKey(secret: 1234, kid: Fixtures.key.kid))
        verifier.trustStore = Fixtures.trust()
        #expect(verifier.verify(forged).outcome == .badSignature)
        #expect(cache.entries[forged] == nil)
    }
}
