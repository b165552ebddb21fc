import Foundation
import LicenceCore
import Testing
@testable import LicenceServer

struct RequestJSONTests {
    @Test func readsTheVerificationBodies() {
        #expect(RequestJSON.token(Array(#"{"token":"EL1:ABC"}"#.utf8)) == "EL1:ABC")
        #expect(RequestJSON.token(Array(" {\n \"other\": [1, {\"x\": null}], \"token\" : \"EL1:A B\\\"C\\\\\" } ".utf8)) == "EL1:A B\"C\\")
        #expect(RequestJSON.tokens(Array(#"{"tokens": ["a", "b", "c"], "x": true}"#.utf8)) == ["a", "b", "c"])
        #expect(RequestJSON.tokens(Array(#"{"tokens": []}"#.utf8)) == [])
        #expect(RequestJSON.token(Array(#"{"token": "福州"}"#.utf8)) == "福州")
    }

    @Test(arguments: [#"{"token": 5}"#, #"{"token": "a""#, "[\"token\"]", #"{"token": "\u0041"}"#, "", #"{"token": "a"} x"#,
                      #"{"tokens": ["a", 1]}"#, String(repeating: "[", count: 100)])
    func leavesEverythingElseToTheFullDecoder(_ body: String) {
        #expect(RequestJSON.token(Array(body.utf8)) == nil || body == #"{"tokens": ["a", 1]}"#)
        #expect(RequestJSON.tokens(Array(body.utf8)) == nil)
    }
}

struct JSONWriterTests {
    @Test func reportsAreTheJSONFoundationReads() throws {
        let claims = try LicenceToken.decode(try fixtureToken()).claims
        var result = VerificationResult(outcome: .revoked, statusChecked: true, claims: claims, algorithm: .edDSA, kid: [1, 2])
        result.signingKey = nil
        let report = VerificationReport(result)
        #expect(try JSONDecoder().decode(VerificationReport.self, from: Data(report.json)) == report)
        var withLicence = report
        withLicence.licence = LicenceJSON(claims: claims)
        #expect(try JSONDecoder().decode(VerificationReport.self, from: Data(withLicence.json)) == withLicence)

        var licence = LicenceJSON(claims: claims)
        licence.fields = ["引号\"和\\反斜杠": "换行\n制表\t控制\u{01}", "a": "b"]
        licence.validUntil = nil
        var writer = JSONWriter()
        writer.objectValue { licence.write(to: &$0) }
        #expect(try JSONDecoder().decode(LicenceJSON.self, from: Data(writer.bytes)) == licence)
        let written = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any]
        #expect(written?["validUntil"] is NSNull)
    }

    /// Registry reads are written without Foundation's encoder, byte for byte what it writes,
    /// whichever members a licence has and whatever its texts hold.
    @Test(arguments: 0..<4)
    func registryReadsAreWhatTheEncoderWrites(_ variant: Int) throws {
        let claims = try LicenceToken.decode(try fixtureToken()).claims
        var licence = LicenceJSON(claims: claims)
        switch variant {
        case 0:
            licence.fields = ["引号\"和\\反斜杠": "换行\n制表\t退格\u{8}换页\u{c}回车\r", "a": "b/c", "A": "\u{1}\u{1f}\u{7f}", "B": ""]
            licence.token = "EL1:ABC/DEF"
            licence.status = .suspended
            licence.supersededBy = "1.2.156.3005.2.x"
            licence.relatedMatter = "变更登记"
        case 1:
            licence.fields = [:]
            licence.validUntil = "2046-01-14"
            licence.holder = .init()
            licence.issuer = .init(code: "11350000003591037R")
            licence.statusList = nil
        case 2:
            licence.validUntil = nil
            licence.holder = .init(name: "某公司")
            licence.issuer = .init(name: "福州市市场监督管理局")
            licence.status = .revoked
        default:
            licence.version = 3
            licence.fields = ["经营范围": "软件开发；信息技术咨询服务", "注册资本": "1万元"]
        }
        let shared = LicenceRead(id: licence.id, type: licence.type, typeName: licence.typeName, status: .suspended, valid: false,
                                 sharing: .conditional, detailsShared: true, licence: licence)
        var statusOnly = shared
        statusOnly.licence = nil
        statusOnly.detailsShared = false
        statusOnly.sharing = .none
        statusOnly.status = .valid
        statusOnly.valid = true
        for read in [shared, statusOnly] {
            #expect(read.json == (try JSONBody.encoded(read)))
        }
        for answer in [HolderLookupAnswer(holderCode: "91350100MA2Y01111F", licences: [shared, statusOnly], withheld: 3, truncated: true),
                       HolderLookupAnswer(holderCode: "91350100MA2Y01111F", licences: [], withheld: 0, truncated: false)] {
            #expect(answer.json == (try JSONBody.encoded(answer)))
        }
    }

    func fixtureToken() throws -> String {
        let key = FakeSigner()
        let licence = try LicenceDocument(type: "11100000000013338W011", typeName: "营业执照", number: "1",
                                          holder: .init(name: "某公司", code: "91350100MA2Y01111F", codeType: "001"),
                                          issuer: .init(name: "福州市市场监督管理局", code: "11350000003591037R"),
                                          validFrom: "2026-01-15", fields: ["注册资本": "1万元"]).validated()
        let id = try LicenceIdentifier.sequential(typeCode: licence.typeCode, issuerCode: licence.issuer.code, year: 2026, sequence: 1)
        return try LicenceToken.sign(LicenceClaims(licence: licence, identifier: id, issuedAt: 0,
                                                   status: StatusReference(index: 3, uri: "https://x/v1/status-lists/0")), with: key)
    }
}

/// A signer whose signature is a fixed pattern; enough for encoding tests.
struct FakeSigner: Signer {
    var algorithm: SignatureAlgorithm { .edDSA }
    var kid: [UInt8] { [1, 2] }
    func sign(_ message: [UInt8]) throws -> [UInt8] { [UInt8](repeating: 7, count: 64) }
}

struct SignatureCacheTests {
    @Test func boundedAndKeyedByTokenText() throws {
        let cache = SignatureCache(capacity: 4)
        let claims = try LicenceToken.decode(try JSONWriterTests().fixtureToken()).claims
        for index in 0..<10 { cache.store("token \(index)", VerifiedToken(claims: claims, algorithm: .edDSA, kid: [UInt8(index)])) }
        #expect(cache.lookup("token 9")?.kid == [9])
        #expect(cache.lookup("token 8")?.kid == [8])
        #expect(cache.lookup("token 0") == nil)  // long evicted
        #expect(cache.lookup("token 9 ") == nil)
    }
}

struct BearerKeyTests {
    @Test func readsTheKeyOfABearerHeader() {
        #expect(AgencyAuthenticationMiddleware.bearerKey("Bearer elk_abc") == "elk_abc")
        #expect(AgencyAuthenticationMiddleware.bearerKey("bEaReR \t elk_abc  ") == "elk_abc")
        #expect(AgencyAuthenticationMiddleware.bearerKey("Bearer " + String(repeating: "k", count: 256)) != nil)
        // A combining mark after the space belongs to the key, not to the scheme's space.
        #expect(AgencyAuthenticationMiddleware.bearerKey("Bearer \u{301}elk_abc") == "\u{301}elk_abc")
    }

    @Test(arguments: ["Bearer", "Bearer ", "Bearer    ", "Basic elk_abc", "Bearerelk_abc", "Bearer " + String(repeating: "k", count: 257)])
    func refusesEverythingElse(_ header: String) {
        #expect(AgencyAuthenticationMiddleware.bearerKey(header) == nil)
    }

    @Test func writesEscapesExactlyWhereNeeded() {
        var writer = JSONWriter()
        writer.string("a\"b\\c\nd\u{7}福")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #""a\"b\\c\nd\u0007福""#)
    }
}
