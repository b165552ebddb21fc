import TestSupport
import Testing
@testable import LicenceCore

/// A code of the other kind is named as such, and messages meant for Chinese readers are Chinese
/// throughout.
struct HolderKindTests {
    @Test func aCitizenIDNumberIsNotACreditCodeAndTheReverse() throws {
        // 11010519491231002X is a valid 公民身份号码; as a credit code its check character is "wrong".
        #expect(throws: LicenceCoreError(.wrongHolderKind,
            "11010519491231002X is a 公民身份号码 (citizen ID number), not a 统一社会信用代码 (unified social credit code)")) {
            try HolderCode("11010519491231002X", kind: .creditCode)
        }
        #expect(throws: LicenceCoreError(.wrongHolderKind,
            "91350100MA2Y01111F is a 统一社会信用代码 (unified social credit code), not a 公民身份号码 (citizen ID number)")) {
            try HolderCode("91350100MA2Y01111F", kind: .citizenID)
        }
        // A wrong check character of the right kind is still named with the expected one.
        #expect(throws: LicenceCoreError(.wrongCheckCharacter, "统一社会信用代码 91350100MA2Y01111A has check character A; expected F")) {
            try HolderCode("91350100MA2Y01111A", kind: .creditCode)
        }
        // A pilot credit code accepted on purpose stays accepted.
        #expect(try HolderCode("91350100MA2Y01111A", kind: .creditCode, allowBadChecksum: true).checksumWaived)
    }

    @Test func errorsOfHolderCodesAndIdentifiersSpeakChinese() {
        var errors: [LicenceCoreError] = []
        for (code, kind) in [("11010519491231002X", HolderCode.Kind.creditCode), ("91350100MA2Y01111F", .citizenID),
                             ("91350100MA2Y01111A", .creditCode), ("9135010", .creditCode), ("91350100MI2Y01111F", .creditCode),
                             ("913501A0MA2Y01111F", .creditCode), ("110105194912310021", .citizenID), ("1101051949123100", .citizenID),
                             ("11010519491331002X", .citizenID), ("110105194912310A2X", .citizenID), ("11010519491231002Y", .citizenID)] {
            do { _ = try HolderCode(code, kind: kind) } catch { errors.append(error) }
        }
        do { _ = try HolderCode("91350100MA2Y01111F", type: "002") } catch { errors.append(error) }
        for text in ["1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V", "2.16.840",
                     "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.1.U",
                     "1.2.156.3005.2.11100000000013338W011.1143000000612224.20230000403.001.U",
                     "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023A000403.001.U",
                     "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001"] {
            do { _ = try LicenceIdentifier(parsing: text) } catch { errors.append(error) }
        }
        #expect(errors.count == 18)
        for error in errors {
            #expect(error.zh != nil, "\(error) has no Chinese message")
            #expect(ChineseText.englishWords(in: error.chineseMessage).isEmpty, "\(error.chineseMessage)")
        }
        // Errors without a Chinese message of their own still have a Chinese summary.
        #expect(LicenceCoreError(.invalidField, field: "number", "is empty").chineseMessage == "取值不符合要求")
    }

    @Test func everyVerificationMessageIsChineseThroughout() throws {
        let reference = StatusReference(index: 7, uri: "https://licence.example.gov.cn/v1/status-lists/0")
        let claims = try Fixtures.claims(Fixtures.licence(), status: reference)
        var reasons: [BilingualMessage] = []
        for source in [StatusListSource([]), StatusListSource([StatusListToken(uri: reference.uri, issuedAt: 0, expires: 1, ttl: nil,
                                                                                list: StatusList(count: 16))]),
                       StatusListSource([StatusListToken(uri: reference.uri, issuedAt: 0, expires: nil, ttl: nil, list: StatusList(count: 4))])] {
            if case .unavailable(let why) = source.status(of: claims, now: 10) { reasons.append(why) }
        }
        var unreferenced = claims
        unreferenced.status = nil
        if case .unavailable(let why) = StatusListSource([]).status(of: unreferenced, now: 10) { reasons.append(why) }
        #expect(reasons.count == 4)
        var outcomes: [VerificationOutcome] = [.valid, .unknownKey, .badSignature, .issuerMismatch, .keyCompromised, .expired,
                                               .notYetValid, .revoked, .suspended, .superseded, .unknownLicence]
        outcomes += TokenLayer.allCases.map { .malformed(layer: $0, detail: "unexpected end of input at byte 12 (major type 7)") }
        outcomes += reasons.map { .statusUnavailable($0) }
        // What the verifier itself says when a status is required but nothing was asked.
        let required = Fixtures.verifier(requireStatus: true).verify(try Fixtures.token())
        outcomes.append(required.outcome)
        for outcome in outcomes {
            for checked in [true, false] {
                let message = VerificationResult(outcome: outcome, statusChecked: checked).message
                #expect(ChineseText.englishWords(in: message.zh).isEmpty, "\(outcome): \(message.zh)")
                #expect(!message.en.isEmpty)
            }
        }
        // The English keeps the technical detail.
        #expect(VerificationResult(outcome: .malformed(layer: .cbor, detail: "x at byte 3"), statusChecked: false).message.en
            .hasSuffix("x at byte 3"))
    }
}
