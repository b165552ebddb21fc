import Foundation
import GRDB
import LicenceCore
import TestSupport
import Testing
@testable import LicenceStore

/// A registry of its own (a SQLite file in a temporary directory, or a new PostgreSQL database), with
/// the business-licence type.
final class RegistryFixture: Sendable {
    let database: TestDatabase
    let registry: any Registry
    /// The registry's background work (PostgreSQL's pool), for as long as the fixture lives.
    private let runner: Task<Void, Never>
    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
    static let signer = FakeKey(secret: 11)
    static let now: Int64 = 1_780_000_000
    static let publicURL = "https://licence.example.gov.cn/"
    /// A well-formed identifier no registry here holds.
    static let absentIdentifier = try! LicenceIdentifier(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                         serial: "20269999999999999999", version: 1)

    static let businessLicence = LicenceType(
        code: "11100000000013338W011", name: "营业执照", holderKind: .enterprise, sharing: .unconditional,
        fields: [.init(name: "注册资本"), .init(name: "法定代表人"), .init(name: "经营范围", required: false)],
        disclosed: ["法定代表人"], validityYears: 20)

    init(_ backend: Backend = .sqlite) async throws {
        database = try TestDatabase(backend)
        let registry = try await RegistryLocation(parsing: database.url).open(password: database.password, create: true, poolSize: 4)
        self.registry = registry
        runner = Task { try? await registry.run() }
        try await registry.addType(Self.businessLicence, now: Self.now)
    }

    deinit { runner.cancel() }

    /// Another registry object on the same database, as another process or host would have; it works
    /// while the returned task runs.
    func reopen(create: Bool = false) async throws -> any Registry {
        let registry = try await RegistryLocation(parsing: database.url).open(password: database.password, create: create, poolSize: 4)
        Task { try? await registry.run() }
        return registry
    }

    static func licence(number: String = "闽市监2026第000123号", holderCode: String = "91350100MA2Y01111F",
                        capital: String = "100万元人民币") throws -> Licence {
        try LicenceDocument(type: "11100000000013338W011", typeName: "营业执照", number: number,
                            holder: .init(name: "福州某某科技有限公司", code: holderCode, codeType: "001"),
                            validFrom: "2026-01-15", validUntil: .date("2046-01-14"),
                            fields: ["注册资本": capital, "法定代表人": "张三"]).validated(defaultIssuer: issuer)
    }

    func issue(_ licences: [Licence], newVersion: Bool = false, into registry: (any Registry)? = nil) async throws -> IssueOutcomes {
        try await (registry ?? self.registry).issue(licences.map { IssueRequest(licence: $0, newVersion: newVersion) },
                                                    signer: Self.signer, publicURL: Self.publicURL, actor: "tester", now: Self.now)
    }

    func issueOne(_ licence: Licence, newVersion: Bool = false) async throws -> StoredLicence {
        guard case .issued(let stored) = try await issue([licence], newVersion: newVersion)[0] else {
            throw RegistryError(.invalid, "expected the licence to be issued")
        }
        return stored
    }
}

extension IssueOutcome {
    var failure: LicenceCoreError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}

struct RegistrySchemaTests {
    @Test func walAndFullSynchronousOnEveryConnection() async throws {
        let fixture = try await RegistryFixture()
        let registry = try #require(fixture.registry as? SQLiteRegistry)
        let (readMode, readSync) = try await registry.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(readMode == "wal")
        #expect(readSync == 2)  // FULL
        let (writeSync, foreignKeys) = try await registry.pool.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(writeSync == 2)
        #expect(foreignKeys == 1)
    }

    @Test(arguments: Backend.available)
    func reopeningKeepsEverything(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        let reopened = try await fixture.reopen()
        #expect(try await reopened.licence(id: stored.id) == stored)
        #expect(try await reopened.types() == [RegistryFixture.businessLicence])
    }

    @Test func unopenableOrMissingRegistriesAreRefused() async throws {
        await #expect {
            _ = try await SQLiteRegistry.open(path: "/proc/no-such-dir/registry.sqlite")
        } throws: { ($0 as? RegistryError)?.code == .invalid }
        let dir = TemporaryDirectory()
        await #expect {
            _ = try await SQLiteRegistry.open(path: dir.file("missing.sqlite"), create: false)
        } throws: { ($0 as? RegistryError)?.message.contains("no registry at") == true }
        #expect(!FileManager.default.fileExists(atPath: dir.file("missing.sqlite")))
        let notADatabase = try dir.write("text.sqlite", "just text, not SQLite")
        await #expect(throws: RegistryError.self) { try await SQLiteRegistry.open(path: notADatabase, create: false) }
    }
}

struct CatalogueTests {
    @Test(arguments: Backend.available)
    func typesAreStoredAndUnique(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        #expect(try await fixture.registry.type(code: "11100000000013338W011") == RegistryFixture.businessLicence)
        await #expect {
            try await fixture.registry.addType(RegistryFixture.businessLicence, now: 0)
        } throws: { ($0 as? RegistryError)?.code == .conflict }
        #expect(try await fixture.registry.type(code: "11100000000013338W099") == nil)
    }

    @Test func typeValidation() {
        var type = RegistryFixture.businessLicence
        type.disclosed = ["经营期限"]
        #expect(throws: LicenceCoreError.self) { try type.validate() }
        type = RegistryFixture.businessLicence
        type.code = "11100000000013338A011"
        #expect(throws: LicenceCoreError.self) { try type.validate() }
        type.code = "营业执照"
        #expect(throws: LicenceCoreError.self) { try type.validate() }
        #expect(throws: Never.self) { try RegistryFixture.businessLicence.validate() }
    }
}

struct IssuanceTests {
    @Test(arguments: Backend.available)
    func issuedLicencesCarryTheirSlotAndVerify(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        #expect(stored.status == .valid)
        #expect(stored.licence.typeName == "营业执照")
        let claims = try LicenceToken.decode(stored.token).claims
        #expect(claims.identifier == stored.id)
        #expect(claims.status == StatusReference(index: UInt64(stored.statusIndex), uri: "https://licence.example.gov.cn/v1/status-lists/0"))
        #expect(claims.fields == ["法定代表人": "张三"])  // only disclosed fields enter the token
        #expect(stored.licence.fields["注册资本"] == "100万元人民币")  // the registry keeps them all
        let trust = TrustList([TrustedKey(kid: RegistryFixture.signer.kid, role: .issuer, issuer: RegistryFixture.issuer,
                                          notBefore: 0, notAfter: .max, state: .active, verifier: RegistryFixture.signer)])
        #expect(Verifier(trustStore: trust, clock: FixedClock(RegistryFixture.now)).verify(stored.token).outcome == .valid)
        #expect(try await fixture.registry.statusEvents(licenceID: stored.id).map(\.status) == [.valid])
    }

    @Test(arguments: Backend.available)
    func sameContentIsANoOpDifferentContentNeedsANewVersion(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let first = try await fixture.issueOne(RegistryFixture.licence())
        guard case .unchanged(let again) = try await fixture.issue([RegistryFixture.licence()])[0] else {
            Issue.record("re-issuing the same licence must be a no-op")
            return
        }
        #expect(again == first)
        let changed = try RegistryFixture.licence(capital: "200万元人民币")
        let refused = try await fixture.issue([changed])[0].failure
        #expect(refused?.field == "number" && refused?.message.contains("--new-version") == true)

        let second = try await fixture.issueOne(changed, newVersion: true)
        #expect(second.id.version == 2 && second.id.serial == first.id.serial)
        let old = try #require(try await fixture.registry.licence(id: first.id))
        #expect(old.status == .superseded && old.supersededBy == second.id.description)
        #expect(try await fixture.registry.statusEvents(licenceID: first.id).map(\.status) == [.valid, .superseded])
        // The superseded version keeps its slot, which now says 3.
        let list = try #require(try await fixture.registry.statusLists().first)
        #expect(list.list[Int(old.statusIndex)] == LicenceStatus.superseded.listValue)
        #expect(list.list[Int(second.statusIndex)] == 0)
    }

    @Test(arguments: Backend.available)
    func requestsFailOneByOne(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        var unknownType = try RegistryFixture.licence(number: "2")
        unknownType.typeCode = "11100000000013338W099"
        var undefinedField = try RegistryFixture.licence(number: "3")
        undefinedField.fields["经营期限"] = "长期"
        var missingField = try RegistryFixture.licence(number: "4")
        missingField.fields["注册资本"] = nil
        let citizen = try LicenceDocument(type: "11100000000013338W011", typeName: "x", number: "5",
                                          holder: .init(name: "张三", code: "11010519491231002X", codeType: "111"),
                                          validFrom: "2026-01-01").validated(defaultIssuer: RegistryFixture.issuer)
        let outcomes = try await fixture.issue([try RegistryFixture.licence(number: "1"), unknownType, undefinedField, missingField,
                                          citizen, try RegistryFixture.licence(number: "1")])
        #expect(outcomes.map { $0.failure?.field } == [nil, "type", "fields.经营期限", "fields.注册资本", "holder.codeType", "number"])
        #expect(try await fixture.registry.licences(LicenceFilter()).count == 1)
    }

    /// One mixed batch on both engines: the same outcome and message for every request (the
    /// rules of issuance are one piece of code, the engines only read and write).
    @Test func bothEnginesDecideAlike() async throws {
        guard Backend.available.contains(.postgres) else { return }
        func run(_ backend: Backend) async throws -> [String] {
            let fixture = try await RegistryFixture(backend)
            _ = try await fixture.issueOne(RegistryFixture.licence(number: "same"))
            _ = try await fixture.issueOne(RegistryFixture.licence(number: "changed"))
            _ = try await fixture.issueOne(RegistryFixture.licence(number: "versioned"))
            let revoked = try await fixture.issueOne(RegistryFixture.licence(number: "revoked"))
            _ = try await fixture.registry.changeStatus(id: revoked.id, to: .revoked, reason: "r", actor: "a", now: 1)
            var wrongType = try RegistryFixture.licence(number: "wrong type")
            wrongType.typeCode = "11100000000013338W099"
            var missingField = try RegistryFixture.licence(number: "missing field")
            missingField.fields["注册资本"] = nil
            let batch: [IssueRequest] = [
                IssueRequest(licence: try RegistryFixture.licence(number: "new")),
                IssueRequest(licence: try RegistryFixture.licence(number: "same")),
                IssueRequest(licence: try RegistryFixture.licence(number: "changed", capital: "9元")),
                IssueRequest(licence: try RegistryFixture.licence(number: "versioned", capital: "9元"), newVersion: true),
                IssueRequest(licence: try RegistryFixture.licence(number: "revoked", capital: "9元"), newVersion: true),
                IssueRequest(licence: wrongType), IssueRequest(licence: missingField),
                IssueRequest(licence: try RegistryFixture.licence(number: "new")),
            ]
            let outcomes = try await fixture.registry.issue(batch, signer: RegistryFixture.signer, publicURL: RegistryFixture.publicURL,
                                                            actor: "tester", now: RegistryFixture.now)
            // Identifiers are random: each is replaced by the number it was issued for.
            let names = Dictionary(try await fixture.registry.licences(LicenceFilter(limit: 100)).map { ($0.id.description, $0.licence.number) },
                                   uniquingKeysWith: { a, _ in a })
            return outcomes.map { outcome in
                switch outcome {
                case .issued(let stored): return "issued \(stored.licence.number) v\(stored.id.version)"
                case .unchanged(let stored): return "unchanged \(stored.licence.number)"
                case .failed(let error):
                    var message = "\(error.field ?? "-"): \(error.message)"
                    for (id, number) in names { message = message.replacingOccurrences(of: id, with: "<\(number)>") }
                    return message
                }
            }
        }
        let sqlite = try await run(.sqlite)
        #expect(sqlite.count == 8 && sqlite[0] == "issued new v1" && sqlite[3] == "issued versioned v2", "\(sqlite)")
        #expect(try await run(.postgres) == sqlite)
    }

    @Test(arguments: Backend.available)
    func queriesFindEveryLicenceOfAHolder(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        _ = try await fixture.issue((1...5).map { try RegistryFixture.licence(number: "A\($0)") })
        _ = try await fixture.issue((1...3).map { try RegistryFixture.licence(number: "B\($0)", holderCode: "91110000600037341L") })
        #expect(try await fixture.registry.licences(LicenceFilter(holderCode: "91110000600037341l")).count == 3)
        #expect(try await fixture.registry.licences(LicenceFilter(holderCode: "91350100MA2Y01111F")).count == 5)
        #expect(try await fixture.registry.licences(LicenceFilter(typeCode: "11100000000013338W011", limit: 4)).count == 4)
        let some = try await fixture.registry.licences(LicenceFilter(holderCode: "91110000600037341L"))
        _ = try await fixture.registry.changeStatus(id: some[0].id, to: .revoked, reason: "r", actor: "a", now: 1)
        #expect(try await fixture.registry.licences(LicenceFilter(status: .revoked)).map(\.id) == [some[0].id])
    }

    @Test(arguments: Backend.available)
    func slotsAreUniqueAndScattered(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let outcomes = try await fixture.issue((0..<300).map { try RegistryFixture.licence(number: "N\($0)") })
        let indexes = outcomes.compactMap { outcome -> Int64? in
            if case .issued(let stored) = outcome { return stored.statusIndex }
            return nil
        }
        #expect(indexes.count == 300 && Set(indexes).count == 300)
        // Issuance order says nothing about position: far from sorted, spread over the whole list.
        #expect(indexes != indexes.sorted())
        #expect(indexes.max()! > Int64(SlotPermutation.size / 2) && indexes.min()! < Int64(SlotPermutation.size / 2))
    }

    @Test func fieldsAreStoredAsJSONThatReadsBack() throws {
        let fields = ["法定代表人": "张三", "备注": "引号\"、反斜杠\\、换行\n、制表\t与\u{1}控制字符", "a/b": "</script>", "": ""]
        let text = JSONText.object(fields)
        #expect(try JSONText.decode([String: String].self, text) == fields)
        // Keys in order, as Foundation's encoder with sorted keys writes them.
        #expect(JSONText.object(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
        #expect(JSONText.object([:]) == "{}")
    }

    @Test func slotPermutationIsABijection() {
        let permutation = SlotPermutation(seed: Array(repeating: 7, count: 32))
        var seen = [Bool](repeating: false, count: SlotPermutation.size)
        // The batch form (its round function tabulated) gives each position the slot the single form does.
        let tabulated = permutation.permute(0..<SlotPermutation.size)
        for value in 0..<SlotPermutation.size {
            let slot = permutation.permute(value)
            #expect(!seen[slot] && tabulated[value] == slot)
            seen[slot] = true
        }
        // Registries keep their lists' seeds: the permutation of a seed never changes. These values are
        // Python's hmac over the same messages.
        #expect([0, 1, 2, 4711, 262_143].map { permutation.permute($0) } == [35753, 67872, 152_330, 236_842, 101_456])
        #expect(permutation.permute(4700..<4712).last == 236_842 && permutation.permute(0..<2000)[1] == 67872)
        #expect(SlotPermutation(seed: Array(repeating: 8, count: 32)).permute(0) != permutation.permute(0)
            || SlotPermutation(seed: Array(repeating: 8, count: 32)).permute(1) != permutation.permute(1))
    }

    @Test(arguments: Backend.available)
    func concurrentIssuersShareOneDatabase(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let registries = [fixture.registry, try await fixture.reopen(), try await fixture.reopen()]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, registry) in registries.enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        // Each issuer issues its own numbers, and also the shared ones everybody issues.
                        let batch = try [RegistryFixture.licence(number: "P\(index)-\(round)"), RegistryFixture.licence(number: "S\(round)")]
                        let outcomes = try await fixture.issue(batch, into: registry)
                        #expect(outcomes.allSatisfy { $0.failure == nil }, "\(outcomes)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try await fixture.registry.licences(LicenceFilter())
        #expect(all.count == 40)
        #expect(Set(all.map(\.id)).count == 40)
        #expect(Set(all.map { "\($0.statusList)/\($0.statusIndex)" }).count == 40)
        // Every licence was issued once: one history entry each.
        for licence in all.prefix(10) {
            #expect(try await fixture.registry.statusEvents(licenceID: licence.id).map(\.status) == [.valid])
        }
    }
}

struct StatusTests {
    @Test(arguments: Backend.available)
    func lifeCycleAndHistory(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let id = try await fixture.issueOne(RegistryFixture.licence()).id
        let registry = fixture.registry
        #expect(try await registry.changeStatus(id: id, to: .suspended, reason: "调查", actor: "a", now: 10).status == .suspended)
        await #expect(throws: RegistryError.self) { try await registry.changeStatus(id: id, to: .suspended, reason: "x", actor: "a", now: 11) }
        #expect(try await registry.changeStatus(id: id, to: .valid, reason: "结束", actor: "b", now: 12).status == .valid)
        await #expect(throws: RegistryError.self) { try await registry.changeStatus(id: id, to: .valid, reason: "x", actor: "a", now: 13) }
        #expect(try await registry.changeStatus(id: id, to: .revoked, reason: "吊销", actor: "c", now: 14).status == .revoked)
        for status in [LicenceStatus.valid, .suspended, .revoked] {
            await #expect {
                try await registry.changeStatus(id: id, to: status, reason: "x", actor: "a", now: 15)
            } throws: { ($0 as? RegistryError)?.message.contains("final") == true }
        }
        let history = try await registry.statusEvents(licenceID: id)
        #expect(history.map(\.status) == [.valid, .suspended, .valid, .revoked])
        #expect(history.map(\.actor) == ["tester", "a", "b", "c"])
        #expect(history.last?.reason == "吊销")
        await #expect {
            try await registry.changeStatus(id: RegistryFixture.absentIdentifier, to: .revoked, reason: "x", actor: "a", now: 1)
        } throws: { ($0 as? RegistryError)?.code == .notFound }
        await #expect(throws: RegistryError.self) { try await registry.changeStatus(id: id, to: .revoked, reason: "  ", actor: "a", now: 1) }
    }

    @Test(arguments: Backend.available)
    func exportedListsAnswerForEveryLicence(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        var stored: [StoredLicence] = []
        for index in 0..<4 { stored.append(try await fixture.issueOne(RegistryFixture.licence(number: "S\(index)"))) }
        _ = try await fixture.registry.changeStatus(id: stored[1].id, to: .suspended, reason: "r", actor: "a", now: 1)
        _ = try await fixture.registry.changeStatus(id: stored[2].id, to: .revoked, reason: "r", actor: "a", now: 1)
        let statusKey = FakeKey(secret: 99)
        let snapshot = try #require(try await fixture.registry.statusLists().first)
        #expect(snapshot.used == 4 && snapshot.list.count == SlotPermutation.size)
        let bytes = try StatusListToken(uri: snapshot.uri, issuedAt: 100, expires: 10_000, ttl: 3600, list: snapshot.list)
            .signed(with: statusKey)
        let trust = TrustList([
            TrustedKey(kid: statusKey.kid, role: .status, issuer: RegistryFixture.issuer, notBefore: 0, notAfter: .max,
                       state: .active, verifier: statusKey),
        ])
        let token = try StatusListToken.verify(bytes, trustStore: trust)
        #expect(token.uri == "https://licence.example.gov.cn/v1/status-lists/0" && token.ttl == 3600)
        let source = StatusListSource([token])
        let answers = try stored.map { source.status(of: try LicenceToken.decode($0.token).claims, now: 200) }
        #expect(answers == [.valid, .suspended, .revoked, .valid])
        if case .unavailable = source.status(of: try LicenceToken.decode(stored[0].token).claims, now: 10_000) {} else {
            Issue.record("an expired list must not answer")
        }
        // A list signed by an issuer key, or altered, is refused.
        let issuerTrust = TrustList([TrustedKey(kid: statusKey.kid, role: .issuer, issuer: RegistryFixture.issuer, notBefore: 0,
                                                notAfter: .max, state: .active, verifier: statusKey)])
        #expect(throws: StatusListToken.Failure.unknownKey) { try StatusListToken.verify(bytes, trustStore: issuerTrust) }
        var altered = bytes
        altered[altered.count - 70] ^= 1
        #expect(throws: StatusListToken.Failure.self) { try StatusListToken.verify(altered, trustStore: trust) }
    }
}

struct StatusListCodecTests {
    /// The draft's example: statuses [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3] at 2 bits → c9 44 f9.
    @Test func bitLayoutFollowsTheDraft() {
        var list = StatusList(count: 12)
        for (index, value) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].enumerated() { list[index] = UInt8(value) }
        #expect(list.bytes == [0xc9, 0x44, 0xf9])
        #expect(list[3] == 3 && list[9] == 2)
    }
}

struct AgencyRegistryTests {
    @Test(arguments: Backend.available)
    func agenciesKeysAndUsageRecords(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let registry = fixture.registry
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        let agency = Agency(code: "11350100MB0000456D", name: "福州市行政服务中心", grants: ["11100000000013338W011"], createdAt: 100)
        let hash = Array(repeating: UInt8(7), count: 32)
        try await registry.addAgency(agency, keyHash: hash)
        await #expect(throws: RegistryError.self) { try await registry.addAgency(agency, keyHash: Array(repeating: 8, count: 32)) }
        #expect(try await registry.agency(keyHash: hash) == agency)
        #expect(try await registry.agency(keyHash: Array(repeating: 9, count: 32)) == nil)

        let id = stored.id.description
        let records = [
            UsageRecord(agency: agency.code, licence: id, action: .verify, cause: "企业开办", outcome: "valid", at: 1_000),
            UsageRecord(agency: agency.code, licence: id, action: .read, cause: nil, outcome: "details", at: 2_000),
            UsageRecord(agency: agency.code, licence: nil, action: .verify, cause: "", outcome: "malformed", at: 3_000),
        ]
        try await registry.recordUsage(records)
        if let sqlite = registry as? SQLiteRegistry {
            // An agency the registry does not know leaves a record with no agency (NULL), which the
            // reads by agency do not show.
            try await registry.recordUsage([UsageRecord(agency: "00000000000000000X", licence: nil, action: .verify, cause: nil,
                                                  outcome: "malformed", at: 5_000)])
            let orphan = try #require(try sqlite.pool.read { db in
                try Row.fetchOne(db, sql: "SELECT agency_id, licence_id, cause, outcome FROM usage_record_text WHERE at = 5000")
            })
            #expect(orphan["agency_id"] as Int64? == nil && orphan["licence_id"] as String? == nil)
            #expect(orphan["cause"] as String? == nil && orphan["outcome"] as String? == "malformed")
        }
        // Every column as written: texts, an empty text, NULLs.
        #expect(try await registry.usage(licenceID: nil, agencyCode: agency.code, limit: 10) == records.reversed())
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 10).map(\.at) == [2_000, 1_000])
        #expect(try await registry.usage(licenceID: nil, agencyCode: agency.code, limit: 2).count == 2)
        let statistics = try await registry.usageStatistics(since: 1_500)
        #expect(statistics.perAgency.map(\.count) == [2])
        #expect(statistics.perType.map(\.name) == ["营业执照"] && statistics.perType.first?.count == 1)

        // Retention: records before the cutoff go, the rest stay.
        #expect(try await registry.purgeUsage(before: 2_500) == 2)
        #expect(try await registry.usage(licenceID: nil, agencyCode: agency.code, limit: 10).map(\.at) == [3_000])

        let revoked = try await registry.revokeAgency(code: agency.code, now: 4_000)
        #expect(revoked.revokedAt == 4_000)
        #expect(try await registry.agency(keyHash: hash) == nil)
        await #expect(throws: RegistryError.self) { try await registry.revokeAgency(code: agency.code, now: 5_000) }
        await #expect(throws: RegistryError.self) { try await registry.revokeAgency(code: "11430000006122244L", now: 5_000) }
    }

    /// A registry whose usage records were written one text per column before they became compact keeps
    /// every one of them, read back as before, and the view `usage_record_text` shows them as text.
    @Test(arguments: Backend.available)
    func usageRecordsOfAnEarlierSchemaAreMoved(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        let agency = Agency(code: "11350100MB0000456D", name: "福州市行政服务中心", grants: [], createdAt: 100)
        try await fixture.registry.addAgency(agency, keyHash: Array(repeating: UInt8(7), count: 32))
        let id = stored.id.description
        let foreign = "1.2.156.3005.2.11100000000013338W011.11330100MB0000789X.20260000001.001.0"
        let sqlite = backend == .sqlite
        try fixture.database.execute("""
            DROP VIEW usage_record_text; \(sqlite ? "DROP TABLE usage_record" : "DROP VIEW usage_record; DROP TABLE usage_batch");
            DROP TABLE usage_text;
            CREATE TABLE usage_record (id \(sqlite ? "INTEGER" : "BIGSERIAL") PRIMARY KEY, agency_id BIGINT REFERENCES agency(id),
                licence_id TEXT, action TEXT NOT NULL, cause TEXT, outcome TEXT NOT NULL, at BIGINT NOT NULL, authority TEXT,
                authority_name TEXT);
            CREATE INDEX usage_record_licence ON usage_record(licence_id, at);
            CREATE INDEX usage_record_at ON usage_record(at);
            CREATE INDEX usage_record_agency ON usage_record(agency_id, at);
            INSERT INTO usage_record (agency_id, licence_id, action, cause, outcome, at, authority, authority_name) VALUES
                ((SELECT id FROM agency), '\(id)', 'verify', '企业开办', 'valid', 1000, NULL, NULL),
                ((SELECT id FROM agency), '\(foreign)', 'verify', NULL, 'revoked', 1100, '11330000MB0005678X', '浙江省大数据发展管理局'),
                ((SELECT id FROM agency), NULL, 'verify', '', 'malformed', 1200, NULL, NULL),
                ((SELECT id FROM agency), '\(id)', 'read', NULL, 'details', 1300, NULL, NULL);
            \(sqlite ? "DELETE FROM grdb_migrations WHERE identifier = 'v7: compact usage records'"
                     : """
                       DELETE FROM schema_migrations WHERE version >= 6; DROP INDEX licence_holder_name;
                       CREATE INDEX licence_holder ON licence(holder_code)
                       """);
            """)
        let registry = try await fixture.reopen()
        let records = [
            UsageRecord(agency: agency.code, licence: id, action: .verify, cause: "企业开办", outcome: "valid", at: 1_000),
            UsageRecord(agency: agency.code, licence: foreign, action: .verify, cause: nil, outcome: "revoked", at: 1_100,
                        authority: "11330000MB0005678X", authorityName: "浙江省大数据发展管理局"),
            UsageRecord(agency: agency.code, licence: nil, action: .verify, cause: "", outcome: "malformed", at: 1_200),
            UsageRecord(agency: agency.code, licence: id, action: .read, cause: nil, outcome: "details", at: 1_300),
        ]
        #expect(try await registry.usage(licenceID: nil, agencyCode: agency.code, limit: 10) == records.reversed())
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 10) == [records[3], records[0]])
        #expect(try await registry.usage(licenceID: foreign, agencyCode: nil, limit: 10) == [records[1]])
        #expect(try await registry.holderUsage(holderCode: "91350100MA2Y01111F", limit: 10).map(\.at) == [1_300, 1_000])
        let statistics = try await registry.usageStatistics(since: 1_050)
        #expect(statistics.perAgency.map(\.count) == [3] && statistics.perType.map(\.count) == [1])
        #expect(statistics.perAuthority == [UsageStatistics.Count(code: "11330000MB0005678X", name: "浙江省大数据发展管理局", count: 1)])
        // New records go in after the moved ones.
        let later = UsageRecord(agency: agency.code, licence: id, action: .verify, cause: "企业开办", outcome: "valid", at: 1_400)
        try await registry.recordUsage([later])
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 1) == [later])
        #expect(try fixture.database.execute("SELECT licence_id, action, cause, outcome FROM usage_record_text ORDER BY at")
                    .split(separator: "\n").map(String.init)
                    == ["\(id)|verify|企业开办|valid", "\(foreign)|verify||revoked", "|verify||malformed", "\(id)|read||details",
                        "\(id)|verify|企业开办|valid"])
    }

    /// A licence's records are found in every bucket of the index by licence (2^18 ids each), the
    /// empty ones between included, newest first, and so are a holder's.
    @Test func usageOfALicenceSpansBuckets() async throws {
        let fixture = try await RegistryFixture(.sqlite)
        let registry = try #require(fixture.registry as? SQLiteRegistry)
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        let agency = "11350100MB0000456D"
        try await registry.addAgency(Agency(code: agency, name: "福州市行政服务中心", grants: [], createdAt: 100),
                                     keyHash: Array(repeating: UInt8(7), count: 32))
        func record(_ at: Int64, _ licence: String? = nil) -> UsageRecord {
            UsageRecord(agency: agency, licence: licence ?? stored.id.description, action: .verify, cause: nil, outcome: "valid", at: at)
        }
        try await registry.recordUsage([record(1_000), record(1_001, "another licence")])
        // The next records start three buckets on.
        try await registry.pool.write { db in
            try db.execute(sql: "INSERT INTO usage_record (id, at, action, outcome) SELECT ?, 1002, action, outcome FROM usage_record LIMIT 1",
                           arguments: [3 << SQLiteRegistry.usageBucketBits])
        }
        try await registry.recordUsage([record(1_003), record(1_004, "another licence"), record(1_005)])
        let ids = try await registry.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id >> 18 FROM usage_record ORDER BY id") }
        #expect(ids == [0, 0, 3, 3, 3, 3])
        #expect(try await registry.usage(licenceID: stored.id.description, agencyCode: nil, limit: 10).map(\.at) == [1_005, 1_003, 1_000])
        #expect(try await registry.usage(licenceID: stored.id.description, agencyCode: nil, limit: 2).map(\.at) == [1_005, 1_003])
        #expect(try await registry.usage(licenceID: "another licence", agencyCode: agency, limit: 10).map(\.at) == [1_004, 1_001])
        #expect(try await registry.holderUsage(holderCode: "91350100MA2Y01111F", limit: 10).map(\.at) == [1_005, 1_003, 1_000])
        #expect(try await registry.usageStatistics(since: 1_003).perAgency.map(\.count) == [3])
    }

    /// Usage records are integers with a few texts beside them: 100,000 records of one licence, one
    /// agency and one cause take at most 64 bytes each, table and indexes (pages in use after a checkpoint).
    @Test func usageRecordsAreCompact() async throws {
        let fixture = try await RegistryFixture(.sqlite)
        let registry = try #require(fixture.registry as? SQLiteRegistry)
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        try await registry.addAgency(Agency(code: "11350100MB0000456D", name: "福州市行政服务中心", grants: [], createdAt: 100),
                                     keyHash: Array(repeating: UInt8(7), count: 32))
        func bytesUsed() async throws -> Int {
            try await registry.pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")! - (try Int.fetchOne(db, sql: "PRAGMA freelist_count")!)
                return try pages * Int.fetchOne(db, sql: "PRAGMA page_size")!
            }
        }
        let before = try await bytesUsed()
        let count = 100_000
        for start in stride(from: 0, to: count, by: 5_000) {
            try await registry.recordUsage((start..<start + 5_000).map {
                UsageRecord(agency: "11350100MB0000456D", licence: stored.id.description, action: .verify, cause: "企业开办",
                            outcome: "valid", at: RegistryFixture.now + Int64($0 / 1_000))
            })
        }
        let bytes = try await bytesUsed() - before
        #expect(bytes / count <= 64, "\(bytes / count) bytes a record")
        #expect(try await registry.usage(licenceID: stored.id.description, agencyCode: nil, limit: 1).first?.at
                    == RegistryFixture.now + Int64((count - 1) / 1_000))
    }

    /// On PostgreSQL a write's records are one row of arrays: reads find them by licence through the
    /// batches' index over more than one round of batches, newest first; retention deletes whole batches
    /// and rewrites the one that straddles the cutoff; and 100,000 records take at most 64 bytes each.
    @Test(arguments: Backend.postgresIfAvailable)
    func usageBatchesOnPostgres(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let registry = fixture.registry
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        let id = stored.id.description
        let agency = "11350100MB0000456D"
        try await registry.addAgency(Agency(code: agency, name: "福州市行政服务中心", grants: [], createdAt: 100),
                                     keyHash: Array(repeating: UInt8(7), count: 32))
        func record(_ at: Int64, _ licence: String) -> UsageRecord {
            UsageRecord(agency: agency, licence: licence, action: .verify, cause: at % 2 == 0 ? "企业开办" : nil, outcome: "valid", at: at)
        }
        // Twelve writes: the licence, another licence, the licence again.
        for batch in Int64(0)..<12 {
            let at = 1_000 + 10 * batch
            try await registry.recordUsage([record(at, id), record(at + 1, "another licence"), record(at + 2, id)])
        }
        #expect(try fixture.database.execute("SELECT COUNT(*), SUM(cardinality(at_offset)) FROM usage_batch") == "12|36")
        #expect(try fixture.database.execute("SELECT COUNT(*) FROM usage_record") == "36")
        let ofLicence = (0..<12).reversed().flatMap { batch -> [Int64] in [1_002 + 10 * Int64(batch), 1_000 + 10 * Int64(batch)] }
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 100).map(\.at) == ofLicence)
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 9).map(\.at) == Array(ofLicence.prefix(9)))
        #expect(try await registry.usage(licenceID: "another licence", agencyCode: agency, limit: 3).map(\.at) == [1_111, 1_101, 1_091])
        #expect(try await registry.usage(licenceID: "never seen", agencyCode: nil, limit: 3).isEmpty)
        #expect(try await registry.usage(licenceID: nil, agencyCode: agency, limit: 4).map(\.at) == [1_112, 1_111, 1_110, 1_102])
        #expect(try await registry.holderUsage(holderCode: "91350100MA2Y01111F", limit: 30).map(\.at) == ofLicence)
        let statistics = try await registry.usageStatistics(since: 1_101)
        #expect(statistics.perAgency.map(\.count) == [5] && statistics.perType.map(\.count) == [3])

        // Five batches go whole; the sixth (1,050 to 1,052) keeps its last two records.
        #expect(try await registry.purgeUsage(before: 1_051) == 16)
        #expect(try fixture.database.execute("SELECT first_at, last_at, at_offset FROM usage_batch ORDER BY id LIMIT 1") == "1051|1052|{0,1}")
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 100).map(\.at) == Array(ofLicence.prefix(13)))
        #expect(try await registry.usage(licenceID: "another licence", agencyCode: nil, limit: 100).last?.at == 1_051)
        #expect(try fixture.database.execute("SELECT COUNT(*) FROM usage_record_text WHERE cause = '企业开办'") == "13")
        #expect(try await registry.purgeUsage(before: 1_051) == 0)

        let before = try Int(fixture.database.execute("SELECT pg_total_relation_size('usage_batch') + pg_total_relation_size('usage_text')"))!
        let count = 100_000
        for start in stride(from: 0, to: count, by: 5_000) {
            try await registry.recordUsage((start..<start + 5_000).map {
                UsageRecord(agency: agency, licence: id, action: .verify, cause: "企业开办", outcome: "valid", at: 2_000 + Int64($0 / 1_000))
            })
        }
        let after = try Int(fixture.database.execute("SELECT pg_total_relation_size('usage_batch') + pg_total_relation_size('usage_text')"))!
        #expect((after - before) / count <= 64, "\((after - before) / count) bytes a record")
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 1).first?.at == 2_000 + Int64((count - 1) / 1_000))

        // An agency seldom seen is found past the batches that do not name it; a write whose times
        // span more than an int's seconds becomes two batches.
        let seldom = "91110000600037341L"
        try await registry.addAgency(Agency(code: seldom, name: "北京市政务服务中心", grants: [], createdAt: 100),
                                     keyHash: Array(repeating: UInt8(8), count: 32))
        try await registry.recordUsage([
            UsageRecord(agency: seldom, licence: id, action: .verify, cause: nil, outcome: "valid", at: 10),
            UsageRecord(agency: agency, licence: id, action: .verify, cause: nil, outcome: "valid", at: 3_000_000_000),
        ])
        #expect(try fixture.database.execute("SELECT first_at, cardinality(agencies) FROM usage_batch ORDER BY id DESC LIMIT 2")
                    == "3000000000|1\n10|1")
        #expect(try await registry.usage(licenceID: nil, agencyCode: seldom, limit: 5).map(\.at) == [10])
        #expect(try await registry.usage(licenceID: id, agencyCode: nil, limit: 2).map(\.at) == [3_000_000_000, 10])
        #expect(try await registry.usage(licenceID: id, agencyCode: seldom, limit: 5).map(\.at) == [10])
    }

    /// Uses of other authorities' licences (跨省互认) are recorded with their authority and counted by it.
    @Test(arguments: Backend.available)
    func usageOfForeignLicencesByAuthority(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let registry = fixture.registry
        let agency = Agency(code: "11350100MB0000456D", name: "福州市行政服务中心", grants: [], createdAt: 100)
        try await registry.addAgency(agency, keyHash: Array(repeating: UInt8(7), count: 32))
        let foreign = "1.2.156.3005.2.11100000000013338W011.11330100MB0000789X.20260000001.001.0"
        let records = [
            UsageRecord(agency: agency.code, licence: foreign, action: .verify, cause: nil, outcome: "valid", at: 1_000,
                        authority: "11330000MB0005678X", authorityName: "浙江省大数据发展管理局"),
            UsageRecord(agency: agency.code, licence: foreign, action: .verify, cause: nil, outcome: "revoked", at: 1_100,
                        authority: "11330000MB0005678X", authorityName: "浙江省大数据发展管理局"),
            UsageRecord(agency: agency.code, licence: nil, action: .verify, cause: nil, outcome: "malformed", at: 1_200),
        ]
        try await registry.recordUsage(records)
        #expect(try await registry.usage(licenceID: nil, agencyCode: agency.code, limit: 10) == records.reversed())
        let statistics = try await registry.usageStatistics(since: 0)
        #expect(statistics.perAuthority == [UsageStatistics.Count(code: "11330000MB0005678X", name: "浙江省大数据发展管理局", count: 2)])
        #expect(statistics.perAgency.map(\.count) == [3])
    }
}
