import TestSupport
import Testing
@testable import LicenceCore

/// Signed trust lists, foreign keys and their status lists, key periods of use.
struct SignedTrustListTests {
    static let anchor = FakeKey(secret: 99)
    static let anchors: [(kid: [UInt8], verifier: any SignatureVerifier)] = [(anchor.kid, anchor)]
    static let now: Int64 = 1_780_286_400

    static func list(sequence: UInt64 = 3, issuedAt: Int64 = now, validity: Int64 = 7 * 86_400,
                     keys: [SignedTrustList.Key]? = nil) -> SignedTrustList {
        SignedTrustList(
            authorityCode: "11330000002482157W", authorityName: "浙江省大数据发展管理局", issuedAt: issuedAt,
            expires: issuedAt + validity, sequence: sequence,
            keys: keys ?? [SignedTrustList.Key(kid: Fixtures.key.kid, algorithm: .edDSA, role: .issuer,
                                               issuer: Issuer(code: "11330000002482000X", name: "杭州市市场监督管理局"),
                                               spki: [1, 2, 3], notBefore: 0, notAfter: 2_000_000_000, state: .active)],
            statusBase: "https://zj.example.gov.cn/v1/status-lists/")
    }

    @Test func roundTrip() throws {
        let original = Self.list()
        let bytes = try original.signed(with: Self.anchor)
        #expect(bytes.first == 0xd2)
        let read = try SignedTrustList.verify(bytes, anchors: Self.anchors, now: Self.now)
        #expect(read == original)
        // The payload is deterministic CBOR with the claims of the design.
        let sign1 = try COSESign1(decoding: bytes)
        let payload = try CBORDecoder.decode(sign1.payload, limits: .init(requireDeterministic: true))
        #expect(payload[.int(1)] == .text("11330000002482157W"))
        #expect(payload[.int(-65538)]?[.int(2)] == .unsigned(3))
        #expect(try sign1.protectedHeader().contains(CBOR.Entry(.int(16), .text(SignedTrustList.typ))))
    }

    @Test func everyChangedByteIsRefused() throws {
        let bytes = try Self.list().signed(with: Self.anchor)
        for index in stride(from: 0, to: bytes.count, by: 7) {
            var changed = bytes
            changed[index] ^= 0x01
            #expect(throws: SignedTrustList.Failure.self) { try SignedTrustList.verify(changed, anchors: Self.anchors, now: Self.now) }
        }
    }

    @Test func refusals() throws {
        let bytes = try Self.list().signed(with: Self.anchor)
        let other = FakeKey(secret: 100)
        // Signed by a key that is not the anchor.
        #expect(throws: SignedTrustList.Failure.unknownAnchor(kid: Hex.encode(other.kid))) {
            try SignedTrustList.verify(try Self.list().signed(with: other), anchors: Self.anchors, now: Self.now)
        }
        // The anchor's kid, another key's signature.
        let impostor = FakeKey(secret: 100, kid: Self.anchor.kid)
        #expect(throws: SignedTrustList.Failure.badSignature) {
            try SignedTrustList.verify(try Self.list().signed(with: impostor), anchors: Self.anchors, now: Self.now)
        }
        let expires = Self.now + 7 * 86_400
        #expect(throws: SignedTrustList.Failure.expired(expires)) {
            try SignedTrustList.verify(bytes, anchors: Self.anchors, now: expires)
        }
        #expect(throws: SignedTrustList.Failure.tooLarge(SignedTrustList.maxBytes + 1)) {
            try SignedTrustList.verify([UInt8](repeating: 0, count: SignedTrustList.maxBytes + 1), anchors: Self.anchors, now: Self.now)
        }
        let accepted = Self.list(sequence: 5)
        #expect(throws: SignedTrustList.Failure.rolledBack(sequence: 3, accepted: 5)) {
            try SignedTrustList.accept(bytes, anchors: Self.anchors, previous: accepted, expectedAuthority: nil, now: Self.now)
        }
        #expect(throws: SignedTrustList.Failure.sequenceReused(3)) {
            try SignedTrustList.accept(bytes, anchors: Self.anchors, previous: Self.list(keys: []), expectedAuthority: nil, now: Self.now)
        }
        #expect(throws: SignedTrustList.Failure.wrongAuthority("11330000002482157W")) {
            try SignedTrustList.accept(bytes, anchors: Self.anchors, previous: nil, expectedAuthority: "11350000003591037R", now: Self.now)
        }
        // The same list again, or a newer one, is accepted.
        #expect(try SignedTrustList.accept(bytes, anchors: Self.anchors, previous: Self.list(), expectedAuthority: nil, now: Self.now).sequence == 3)
        let newer = try Self.list(sequence: 4, keys: []).signed(with: Self.anchor)
        #expect(try SignedTrustList.accept(newer, anchors: Self.anchors, previous: Self.list(), expectedAuthority: nil, now: Self.now).keys.isEmpty)
    }

    @Test func aStatusListIsNotATrustList() throws {
        // Same anchor, another kind of object: the typ header tells them apart.
        let statusList = try StatusListToken(uri: "https://zj.example.gov.cn/v1/status-lists/0", issuedAt: Self.now, expires: nil, ttl: 60,
                                             list: StatusList(count: 8)).signed(with: Self.anchor)
        #expect(throws: SignedTrustList.Failure.self) { try SignedTrustList.verify(statusList, anchors: Self.anchors, now: Self.now) }
    }

    @Test(arguments: [
        ("https://zj.example.gov.cn/v1/status-lists/0", true),
        ("https://zj.example.gov.cn/v1/status-lists/12345", true),
        ("https://zj.example.gov.cn/v1/status-lists/", false),
        ("https://zj.example.gov.cn/v1/status-lists/1/../../../admin", false),
        ("https://zj.example.gov.cn/v1/status-lists/1?x=https://evil", false),
        ("https://zj.example.gov.cn.evil.example/v1/status-lists/1", false),
        ("https://evil.example/v1/status-lists/1", false),
        ("http://zj.example.gov.cn/v1/status-lists/1", false),
    ])
    func statusURIsUnderTheBaseOnly(_ uri: String, _ owned: Bool) {
        let authority = TrustAuthority(name: "zhejiang", code: "X", displayName: "浙江", statusBase: "https://zj.example.gov.cn/v1/status-lists/",
                                       sequence: 1, listExpires: .max)
        #expect(authority.ownsStatusURI(uri) == owned)
    }
}

struct ForeignVerificationTests {
    static let authority = TrustAuthority(name: "zhejiang", code: "11330000002482157W", displayName: "浙江省大数据发展管理局",
                                          statusBase: "https://licence.example.gov.cn/v1/status-lists/", sequence: 7,
                                          listExpires: Fixtures.midValidity + 3600)

    static func foreignTrust(authority: TrustAuthority = authority, notBefore: Int64 = 0, notAfter: Int64 = .max) -> TrustList {
        TrustList([TrustedKey(kid: Fixtures.key.kid, role: .issuer, issuer: Fixtures.issuer, notBefore: notBefore, notAfter: notAfter,
                              state: .active, verifier: Fixtures.key, authority: authority),
                   TrustedKey(kid: FakeKey(secret: 8).kid, role: .status, issuer: Fixtures.issuer, notBefore: 0, notAfter: .max,
                              state: .active, verifier: FakeKey(secret: 8), authority: authority)])
    }

    @Test func aForeignLicenceNamesItsAuthority() throws {
        let result = Fixtures.verifier(Self.foreignTrust()).verify(try Fixtures.token())
        #expect(result.outcome == .valid)
        #expect(result.authority?.name == "zhejiang")
        let json = String(decoding: VerificationReport(result).json, as: UTF8.self)
        #expect(json.contains(#""authority":{"code":"11330000002482157W","displayName":"浙江省大数据发展管理局","name":"zhejiang"}"#))
        #expect(result.message.zh.contains("浙江省大数据发展管理局"))
    }

    @Test func anExpiredAuthorityListAcceptsNothing() throws {
        var lapsed = Self.authority
        lapsed.listExpires = Fixtures.midValidity - 1
        let result = Fixtures.verifier(Self.foreignTrust(authority: lapsed)).verify(try Fixtures.token())
        guard case .statusUnavailable(let why) = result.outcome else { Issue.record("\(result.outcome)"); return }
        #expect(why.en.contains("expired") && why.zh.contains("过期"))
        #expect(!result.valid)
    }

    @Test func keyPeriodOfUse() throws {
        let token = try Fixtures.token()  // iat 1_764_000_000
        #expect(Fixtures.verifier(Self.foreignTrust(notBefore: 1_764_000_001)).verify(token).outcome == .keyNotValid)
        #expect(Fixtures.verifier(Self.foreignTrust(notAfter: 1_763_999_999)).verify(token).outcome == .keyNotValid)
        #expect(Fixtures.verifier(Self.foreignTrust(notBefore: 1_764_000_000, notAfter: 1_764_000_000)).verify(token).outcome == .valid)
        let own = TrustList([TrustedKey(kid: Fixtures.key.kid, role: .issuer, issuer: Fixtures.issuer, notBefore: 1_764_000_001,
                                        notAfter: .max, state: .active, verifier: Fixtures.key)])
        let result = Fixtures.verifier(own).verify(token)
        #expect(result.outcome == .keyNotValid)
        #expect(VerificationReport(result).licence == nil)
        #expect(result.message.en.contains("period of use"))
    }

    @Test func aStatusListAnswersOnlyForItsOwnAuthority() throws {
        let uri = "https://licence.example.gov.cn/v1/status-lists/0"
        var entries = StatusList(count: 16)
        entries[3] = LicenceStatus.revoked.listValue
        let signedByForeign = try StatusListToken(uri: uri, issuedAt: Fixtures.midValidity, expires: nil, ttl: 60, list: entries)
            .signed(with: FakeKey(secret: 8))
        let trust = Self.foreignTrust()
        let list = try StatusListToken.verify(signedByForeign, trustStore: trust)
        #expect(list.authority?.name == "zhejiang")
        let claims = try Fixtures.claims(Fixtures.licence(), status: StatusReference(index: 3, uri: uri))
        let token = try LicenceToken.sign(claims, with: Fixtures.key)
        let source = StatusListSource([list])
        let result = Fixtures.verifier(trust, status: source).verify(token)
        #expect(result.outcome == .revoked)
        #expect(result.statusChecked)
        // The same list cannot answer for the verifier's own licences.
        #expect(Fixtures.verifier(Fixtures.trust(), status: source).verify(token).outcome
                    == .statusUnavailable(BilingualMessage(zh: "未提供证照所载的状态列表 \(uri)。", en: "no status list for \(uri) was given")))
        // A list signed by the authority's key for a URI outside its status base is refused.
        let outside = try StatusListToken(uri: "https://elsewhere.example/v1/status-lists/0", issuedAt: Fixtures.midValidity, expires: nil,
                                          ttl: 60, list: entries).signed(with: FakeKey(secret: 8))
        #expect(throws: StatusListToken.Failure.foreignURI("https://elsewhere.example/v1/status-lists/0")) {
            try StatusListToken.verify(outside, trustStore: trust)
        }
        // A token whose uri is outside its authority's base gets no answer from any list.
        let stray = try LicenceToken.sign(Fixtures.claims(Fixtures.licence(), status: StatusReference(index: 3, uri: "https://evil.example/x")),
                                          with: Fixtures.key)
        guard case .statusUnavailable(let why) = Fixtures.verifier(trust, status: source).verify(stray).outcome else {
            Issue.record("a stray uri was answered"); return
        }
        #expect(why.en.contains("not under the status base") && why.zh.contains("状态列表地址"))
    }
}

/// RFC 9052 §3 and §3.1: crit naming a parameter the reader does not understand, and a label in both
/// headers, make the message malformed (layer cose). Here with a stand-in signature; the tests of
/// LicenceCrypto sign the same objects with real keys.
struct StrictHeaderTests {
    static func token(protected: [CBOR.Entry], unprotected: [CBOR.Entry] = []) throws -> String {
        let claims = try Fixtures.claims(Fixtures.licence())
        let protectedBytes = CBOR.map(protected).encoded()
        let signature = try Fixtures.key.sign(COSESign1.toBeSigned(protectedBytes: protectedBytes, payload: claims.encoded))
        return LicenceToken.encode(sign1: COSESign1(protectedBytes: protectedBytes, unprotected: unprotected, payload: claims.encoded,
                                                    signature: signature))
    }

    static let alg = CBOR.Entry(.int(1), .int(SignatureAlgorithm.edDSA.rawValue))
    static let kid = CBOR.Entry(.int(4), .bytes(Fixtures.key.kid))

    @Test func unknownCriticalParameterIsMalformed() throws {
        let token = try Self.token(protected: [Self.alg, Self.kid, .init(.int(2), .array([.int(-70000)])), .init(.int(-70000), .text("x"))])
        guard case .malformed(.cose, let detail) = Fixtures.verifier().verify(token).outcome else { Issue.record("accepted"); return }
        #expect(detail.contains("crit"))
    }

    @Test func criticalParametersThisReaderUnderstandsAreAccepted() throws {
        let token = try Self.token(protected: [Self.alg, Self.kid, .init(.int(2), .array([.int(1)]))])
        #expect(Fixtures.verifier().verify(token).outcome == .valid)
    }

    @Test(arguments: [
        [CBOR.Entry(.int(2), .array([]))],                          // empty crit
        [CBOR.Entry(.int(2), .int(1))],                             // not an array
        [CBOR.Entry(.int(2), .array([.int(16)]))],                  // understood elsewhere, not by a token reader
    ])
    func badCritIsMalformed(_ extra: [CBOR.Entry]) throws {
        let token = try Self.token(protected: [Self.alg, Self.kid] + extra)
        guard case .malformed(.cose, _) = Fixtures.verifier().verify(token).outcome else { Issue.record("accepted"); return }
    }

    @Test func critInTheUnprotectedHeaderIsMalformed() throws {
        let token = try Self.token(protected: [Self.alg, Self.kid], unprotected: [.init(.int(2), .array([.int(1)]))])
        guard case .malformed(.cose, _) = Fixtures.verifier().verify(token).outcome else { Issue.record("accepted"); return }
    }

    @Test(arguments: [CBOR.Entry(.int(1), .int(SignatureAlgorithm.edDSA.rawValue)), CBOR.Entry(.int(4), .bytes(Fixtures.key.kid))])
    func aLabelInBothHeadersIsMalformed(_ repeated: CBOR.Entry) throws {
        let token = try Self.token(protected: [Self.alg, Self.kid], unprotected: [repeated])
        guard case .malformed(.cose, let detail) = Fixtures.verifier().verify(token).outcome else { Issue.record("accepted"); return }
        #expect(detail.contains("both"))
    }
}
