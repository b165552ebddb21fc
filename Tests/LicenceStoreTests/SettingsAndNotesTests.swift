import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceStore

/// Notes on issued licences: a holder code that already goes with another holder name.
struct HolderNameNoteTests {
    static func licence(_ number: String, name: String, code: String) throws -> Licence {
        var licence = try RegistryFixture.licence(number: number, holderCode: code)
        licence.holder.name = name
        return licence
    }

    @Test(arguments: Backend.available)
    func aHolderCodeUnderAnotherNameIsIssuedWithANote(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        _ = try await fixture.issueOne(try RegistryFixture.licence(number: "A1"))  // 福州某某科技有限公司, 91350100MA2Y01111F
        let outcomes = try await fixture.issue([
            try Self.licence("A2", name: "福州某某餐饮有限公司", code: "91350100MA2Y01111F"),  // the registry knows another name
            try Self.licence("B1", name: "北京某某贸易有限公司", code: "91110000600037341L"),  // a new holder
            try Self.licence("B2", name: "北京某某商贸有限公司", code: "91110000600037341L"),  // an earlier line names it otherwise
            try Self.licence("C1", name: "福州某某餐饮有限公司", code: "91350100MA2Y02222G"),  // a new holder
            try Self.licence("C2", name: "福州某某餐饮有限公司", code: "91350100MA2Y02222G"),  // the same name again
        ])
        #expect(outcomes.allSatisfy { if case .issued = $0 { true } else { false } }, "\(outcomes.outcomes)")
        #expect(outcomes.notes.map(\.count) == [1, 0, 1, 0, 0])
        #expect(outcomes.notes[0].first?.field == "holder.name")
        #expect(outcomes.notes[0].first?.message
            == "holder code 91350100MA2Y01111F is registered as 福州某某科技有限公司 (licence A1); this licence names 福州某某餐饮有限公司: "
                + "check the holder's name and code")
        #expect(outcomes.notes[2].first?.message.contains("is named 北京某某贸易有限公司 earlier in this batch (licence B1)") == true)

        // Issued again with the same content: unchanged, and nothing more to say.
        let again = try await fixture.issue([try Self.licence("A2", name: "福州某某餐饮有限公司", code: "91350100MA2Y01111F")])
        guard case .unchanged = again[0] else {
            Issue.record("expected unchanged: \(again[0])")
            return
        }
        #expect(again.notes[0].isEmpty)
        // A new version that renames the holder does not trip over its own old version.
        let renamed = try await fixture.issue([try Self.licence("C1", name: "福州某某餐饮管理有限公司", code: "91350100MA2Y02222G")],
                                              newVersion: true)
        guard case .issued = renamed[0] else {
            Issue.record("expected a new version: \(renamed[0])")
            return
        }
        #expect(renamed.notes[0].first?.message.contains("is registered as 福州某某餐饮有限公司 (licence C2)") == true)
    }

    @Test func notesNeedNoEngine() throws {
        func planned(_ request: Int, _ number: String, _ name: String, supersedes: String? = nil) throws -> PlannedLicence {
            let licence = try Self.licence(number, name: name, code: "91350100MA2Y01111F")
            return PlannedLicence(request: request, licence: licence, disclosed: [], contentHash: [],
                                  identifier: try LicenceIdentifier.sequential(typeCode: licence.typeCode, issuerCode: licence.issuer.code,
                                                                               year: 2026, sequence: request + 1),
                                  supersedes: supersedes)
        }
        let old = RegisteredHolder(name: "旧名称有限公司", number: "X1", id: "old-id")
        // The version a licence supersedes is not another holder name.
        #expect(IssuePlanner.holderNameNotes([try planned(0, "X1", "新名称有限公司", supersedes: "old-id")],
                                             registered: ["91350100MA2Y01111F": [old]]).isEmpty)
        let notes = IssuePlanner.holderNameNotes([try planned(0, "X2", "新名称有限公司")], registered: ["91350100MA2Y01111F": [old]])
        #expect(notes[0]?.first?.message.contains("is registered as 旧名称有限公司 (licence X1)") == true)

        // Many licences of one holder in a batch: each is compared with the code's first few names,
        // not with every earlier licence, and names at most three of the others.
        let names = (0..<3000).map { $0 < 6 ? "第\($0)有限公司" : "第0有限公司" }
        let many = IssuePlanner.holderNameNotes(try names.enumerated().map { try planned($0.offset, "N\($0.offset)", $0.element) },
                                                registered: [:])
        #expect(many.count == 2999 && many[0] == nil)
        #expect(many[2999]?.first?.message == "holder code 91350100MA2Y01111F is named 第1有限公司 earlier in this batch (licence N1) and "
            + "is named 第2有限公司 earlier in this batch (licence N2) and is named 第3有限公司 earlier in this batch (licence N3); "
            + "this licence names 第0有限公司: check the holder's name and code")
        #expect(many[5]?.first?.message == "holder code 91350100MA2Y01111F is named 第0有限公司 earlier in this batch (licence N0) and "
            + "is named 第1有限公司 earlier in this batch (licence N1) and is named 第2有限公司 earlier in this batch (licence N2); "
            + "this licence names 第5有限公司: check the holder's name and code")
    }
}

/// Settings kept in the registry, and where an issuance's public URL comes from.
struct RegistrySettingTests {
    @Test(arguments: Backend.available)
    func settingsAreKeptAndRemoved(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        #expect(try await fixture.registry.setting(.publicURL) == nil)
        try await fixture.registry.setSetting(.publicURL, to: "https://licences.example.gov.cn", now: 1)
        try await fixture.registry.setSetting(.publicURL, to: "https://licence.fujian.gov.cn", now: 2)
        // Another registry object on the same database (another process or host) sees it.
        let other = try await fixture.reopen()
        #expect(try await other.setting(.publicURL) == "https://licence.fujian.gov.cn")
        try await other.setSetting(.publicURL, to: nil, now: 3)
        #expect(try await fixture.registry.setting(.publicURL) == nil)
    }

    @Test func publicURLsAreCheckedAndNormalised() throws {
        #expect(try RegistrySetting.publicURL.normalised(" https://licences.example.gov.cn/ ") == "https://licences.example.gov.cn")
        for bad in ["licences.example.gov.cn", "ftp://x.example", "https://", "http://a b"] {
            #expect(throws: RegistryError.self) { try RegistrySetting.publicURL.normalised(bad) }
        }
    }

    @Test func theOptionComesFirstThenTheEnvironmentThenTheRegistry() {
        let all = PublicURLChoice(option: "https://option", environment: "https://environment", registry: "https://registry")
        #expect(all.url == "https://option" && all.source == .option)
        let noOption = PublicURLChoice(option: nil, environment: "https://environment", registry: "https://registry")
        #expect(noOption.url == "https://environment" && noOption.source == .environment)
        let registry = PublicURLChoice(option: nil, environment: "", registry: "https://registry")
        #expect(registry.url == "https://registry" && registry.source == .registry)
        let none = PublicURLChoice(option: nil, environment: nil, registry: nil)
        #expect(none.url == "http://127.0.0.1:8080" && none.source == .fallback)
    }
}

/// Every time in the JSON the registry's values are written as is ISO 8601, as the API's others.
struct TimestampJSONTests {
    @Test func usageRecordsStatusEventsAndAgenciesWriteISO8601() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let record = UsageRecord(agency: "11350100MB0000456D", licence: nil, action: .verify, cause: nil, outcome: "valid",
                                 at: 1_780_000_000)
        let recordJSON = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(recordJSON.contains(#""at":"2026-05-28T20:26:40Z""#), "\(recordJSON)")
        #expect(try JSONDecoder().decode(UsageRecord.self, from: Data(recordJSON.utf8)) == record)
        let event = StatusEvent(status: .revoked, reason: "x", actor: "y", at: 1_780_000_000)
        #expect(String(decoding: try encoder.encode(event), as: UTF8.self).contains(#""at":"2026-05-28T20:26:40Z""#))
        let agency = Agency(code: "11350100MB0000456D", name: "福州市行政服务中心", grants: [], createdAt: 1_780_000_000, revokedAt: 1_780_000_001)
        let agencyJSON = String(decoding: try encoder.encode(agency), as: UTF8.self)
        #expect(agencyJSON.contains(#""createdAt":"2026-05-28T20:26:40Z""#) && agencyJSON.contains(#""revokedAt":"2026-05-28T20:26:41Z""#))
        #expect(try JSONDecoder().decode(Agency.self, from: Data(agencyJSON.utf8)) == agency)
        // Output of older versions, in Unix seconds, still reads.
        let old = #"{"agency":"A","action":"read","outcome":"details","at":1780000000}"#
        #expect(try JSONDecoder().decode(UsageRecord.self, from: Data(old.utf8)).at == 1_780_000_000)
    }
}

/// A licence's extension fields are read without Foundation when the scanner can, and read alike.
struct FieldsColumnTests {
    @Test(arguments: [
        "{}", " { } ", #"{"注册资本":"1万元人民币","法定代表人":"张三"}"#, "{\n \"a\" : \"b/c\" ,\t\"\" : \"\" }",
        #"{"a":"引号\"在内","b":"斜杠\/与\\反斜杠\n"}"#,
        JSONText.object(["经营范围": "软件开发；信息技术咨询服务", "z": "末", "A": "1"]),
    ])
    func objectsOfStringsAreReadDirectly(_ text: String) throws {
        let direct = try #require(JSONText.stringObject(text))
        #expect(direct == (try JSONDecoder().decode([String: String].self, from: Data(text.utf8))))
        #expect(try JSONText.fields(text) == direct)
    }

    /// `\u` escapes, repeated names and a trailing comma are left to Foundation, which reads them.
    @Test(arguments: [#"{"a":"\u0041"}"#, #"{"a":"b","a":"c"}"#, #"{"a":"b",}"#])
    func escapesGoToFoundation(_ text: String) throws {
        #expect(JSONText.stringObject(text) == nil)
        #expect(try JSONText.fields(text) == (try JSONDecoder().decode([String: String].self, from: Data(text.utf8))))
    }

    /// What is not JSON, or not an object of strings, is refused by both readers.
    @Test(arguments: [
        #"{"a":1}"#, #"{"a":"b"} x"#, #"{"a":"b""#, #"{"a":"b" "c":"d"}"#, #"{"a" "b"}"#, "[]", "",
        "{\"a\":\"tab\there\"}", "{\"a\":\"bell\u{7}\"}", "{\u{b}\"a\":\"b\"}", "{\u{c}\"a\":\"b\"}", "{\u{a0}\"a\":\"b\"}",
    ])
    func malformedObjectsAreRefused(_ text: String) {
        #expect(JSONText.stringObject(text) == nil)
        #expect(throws: (any Error).self) { try JSONText.fields(text) }
    }

    @Test func whatTheWriterWritesComesBack() throws {
        let fields = ["引号\"和\\反斜杠": "换行\n", "a": "b"]
        #expect(try JSONText.fields(JSONText.object(fields)) == fields)
    }
}
