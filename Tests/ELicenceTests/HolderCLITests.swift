import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore
import TestSupport
import Testing

extension RegistryCLI {
    static let citizen = "11010519491231002X"
    static let publicURL = ["--public-url", "https://licences.example.gov.cn"]

    /// Runs `body` with this test's registry open, as the server would have it.
    func withStore<T>(_ body: (any Registry) async throws -> T) async throws -> T {
        try await RegistryLocation(parsing: database.url).withRegistry(password: database.password, create: false, body)
    }

    /// Issues the citizen's driving licence.
    @discardableResult
    func issueDrivingLicence(number: String = "350102199003071234", extra: [String] = []) throws -> ProcessResult {
        try expectSuccess(["issue", "--type", "11100000000013338W022", "--holder-code", Self.citizen, "--holder-name", "林小明",
                           "--number", number, "--valid-from", "2022-03-07", "--field", "准驾车型=C1"] + extra + db + keys)
    }

    /// `holders invite --json`, as a dictionary.
    func invite(_ holderCode: String = citizen, extra: [String] = []) throws -> [String: String] {
        let result = try expectSuccess(["holders", "invite", "--holder-code", holderCode, "--json"] + Self.publicURL + extra + db)
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String], "\(result)")
    }
}

/// What a phone's enrolment does through the registry: a fresh device for a code as typed.
func enrol(_ typed: String, in registry: any Registry, now: Int64 = SystemClock().now) async throws -> Enrolment {
    var generator = SystemRandomNumberGenerator()
    let key = (0..<65).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let device = HolderDevice(id: Hex.encode(Array(key.prefix(8))), holderCode: "", publicKey: key, label: "测试手机", enrolledAt: 0)
    let normalized = try #require(InviteCode.normalize(typed), "\(typed) is not read as a code")
    return try await registry.enrol(codeHash: InviteCode.hash(normalized: normalized), device: device, now: now)
}

func enrolledDevice(_ enrolment: Enrolment) -> HolderDevice? {
    if case .enrolled(let device) = enrolment { return device }
    return nil
}

func jsonObject(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

struct HolderCLITests {
    static var codeShape: Regex<(Substring, Substring)> { /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/ }

    @Test(arguments: Backend.available)
    func anInviteEnrolsOneDeviceOnce(_ backend: Backend) async throws {
        let registry = try RegistryCLI(backend: backend)
        try registry.issueDrivingLicence()
        let invite = try registry.invite(extra: ["--valid-days", "30"])
        let code = try #require(invite["code"])
        #expect(code.wholeMatch(of: Self.codeShape) != nil, "\(code)")
        #expect(invite["holderCode"] == RegistryCLI.citizen)
        #expect(invite["link"] == "https://licences.example.gov.cn/wallet#enrol=" + code)
        let expires = try #require(invite["expiresAt"].flatMap(Timestamp.parse))
        #expect(abs(expires - SystemClock().now - 30 * 86_400) < 120)
        if backend == .sqlite {
            // Only the code's hash is kept.
            #expect(try registry.database.execute("SELECT lower(hex(code_hash)) FROM holder_invite")
                    == Hex.encode(InviteCode.hash(normalized: InviteCode.normalize(code)!)))
            for file in ["", "-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: registry.database.url + file))) ?? Data()
                #expect(bytes.range(of: Data(code.utf8)) == nil && bytes.range(of: Data(InviteCode.normalize(code)!.utf8)) == nil)
            }
        }

        let device = try await registry.withStore { store in
            let first = try await enrol(code, in: store)
            #expect(try await enrol(code, in: store) == .usedCode)
            #expect(try await enrol("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", in: store) == .unknownCode)
            return try #require(enrolledDevice(first), "\(first)")
        }
        #expect(device.holderCode == RegistryCLI.citizen)

        let listed = try registry.expectSuccess(["holders", "devices", "--holder-code", RegistryCLI.citizen.lowercased(), "--json"] + registry.db)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1 && rows[0]["id"] as? String == device.id && rows[0]["label"] as? String == "测试手机")
        #expect(rows[0]["active"] as? Bool == true && rows[0]["revokedAt"] == nil && rows[0]["enrolledAt"] is String)
        let table = try registry.expectSuccess(["holders", "devices", "--holder-code", RegistryCLI.citizen] + registry.db)
        #expect(table.stdout.contains("ID") && table.stdout.contains(device.id) && table.stdout.contains("active"), "\(table)")

        let revoked = try registry.expectSuccess(["holders", "revoke-device", device.id.uppercased()] + registry.db)
        #expect(revoked.stdout.contains("Device \(device.id)") && revoked.stdout.contains("revoked"), "\(revoked)")
        #expect(try await registry.withStore { try await $0.device(id: device.id) }?.isActive == false)
        let after = try registry.expectSuccess(["holders", "devices", "--holder-code", RegistryCLI.citizen] + registry.db)
        #expect(after.stdout.contains("revoked 20"), "\(after)")
        let again = try registry.cli.run(["holders", "revoke-device", device.id] + registry.db)
        #expect(again.status == 2 && again.stderr.contains("already revoked"), "\(again)")

        let none = try registry.expectSuccess(["holders", "devices", "--holder-code", "91350100MA2Y01111F"] + registry.db)
        #expect(none.stdout.contains("No devices") && none.stdout.contains("holders invite"), "\(none)")
    }

    @Test(arguments: Backend.available)
    func expiredAndMistypedCodes(_ backend: Backend) async throws {
        let registry = try RegistryCLI(backend: backend)
        try registry.issueDrivingLicence()
        let shortLived = try #require(try registry.invite(extra: ["--valid-days", "1"])["code"])
        let code = try #require(try registry.invite()["code"])
        // As a person might type it: lower case, spaces for hyphens, O for 0, I and L for 1.
        var typed = ""
        for (index, character) in code.lowercased().enumerated() {
            switch character {
            case "-": typed += " "
            case "0": typed += "o"
            case "1": typed += index % 2 == 0 ? "i" : "L"
            default: typed.append(character)
            }
        }
        typed = "  " + typed + "\t"
        #expect(InviteCode.normalize(typed) == InviteCode.normalize(code))
        #expect(InviteCode.normalize(String(code.dropLast())) == nil)
        #expect(InviteCode.normalize(code + "U") == nil)

        try await registry.withStore { store in
            let later = SystemClock().now + 2 * 86_400
            #expect(try await enrol(shortLived, in: store, now: later) == .expiredCode)
            let enrolled = try #require(enrolledDevice(try await enrol(typed, in: store)))
            #expect(enrolled.holderCode == RegistryCLI.citizen)
            #expect(try await enrol(code, in: store) == .usedCode)
        }
    }

    @Test func theLinkAndItsQRCode() throws {
        let registry = try RegistryCLI()
        let noPublicURL = ["ELICENCE_PUBLIC_URL": ""]
        // No licences yet, no public URL: a warning for each, and the code all the same.
        let loopback = try registry.cli.run(["holders", "invite", "--holder-code", RegistryCLI.citizen, "--qr", "invite.svg"] + registry.db,
                                            environment: noPublicURL)
        #expect(loopback.status == 0, "\(loopback)")
        #expect(loopback.stderr.contains("loopback") && loopback.stderr.contains("registry set public-url"), "\(loopback)")
        #expect(loopback.stderr.contains("no licences in the registry yet"), "\(loopback)")
        let code = try #require(loopback.stdout.firstMatch(of: /enrol=([0-9A-Z-]{24})/)?.1, "\(loopback)")
        #expect(loopback.stdout.contains("http://127.0.0.1:8080/wallet#enrol=\(code)"))
        #expect(try registry.cli.dir.read("invite.svg").contains("<svg"))
        let mode = try FileManager.default.attributesOfItem(atPath: registry.cli.dir.file("invite.svg"))[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // The registry's setting is the public URL; a licence makes the warning about none go away.
        try registry.expectSuccess(["registry", "set", "public-url", "https://wallet.example.gov.cn/"] + registry.db)
        try registry.issueDrivingLicence()
        let set = try registry.cli.run(["holders", "invite", "--holder-code", RegistryCLI.citizen, "--qr", "invite.PNG"] + registry.db,
                                       environment: noPublicURL)
        #expect(set.status == 0 && set.stderr.isEmpty, "\(set)")
        #expect(set.stdout.contains("https://wallet.example.gov.cn/wallet#enrol="), "\(set)")
        let png = try Data(contentsOf: URL(fileURLWithPath: registry.cli.dir.file("invite.PNG")))
        #expect(png.starts(with: [0x89, 0x50, 0x4e, 0x47]))
    }

    @Test func badInputExitsTwoAndStoresNothing() throws {
        let registry = try RegistryCLI()
        let cases: [([String], String)] = [
            (["holders", "invite", "--holder-code", "11010519491231002A"], "--holder-code"),
            (["holders", "invite", "--holder-code", "11010519491231003X"], "expected 8"),
            (["holders", "invite", "--holder-code", RegistryCLI.citizen, "--valid-days", "0"], "--valid-days must be from 1 to 90"),
            (["holders", "invite", "--holder-code", RegistryCLI.citizen, "--valid-days", "91"], "--valid-days must be from 1 to 90"),
            (["holders", "invite", "--holder-code", RegistryCLI.citizen, "--qr", "invite.jpg"], "must end in .png or .svg"),
            (["holders", "invite", "--holder-code", RegistryCLI.citizen, "--public-url", "licences.example.gov.cn"],
             "must be an http:// or https:// URL"),
            (["holders", "devices", "--holder-code", "91350100MA2Y01111A"], "expected F"),
            (["holders", "revoke-device", "0123456789abcdef"], "no device 0123456789abcdef"),
            (["holders", "revoke-device", "0123456789abcdeg"], "expected 16 hex digits"),
            (["holders", "revoke-device", "0123"], "expected 16 hex digits"),
            (["issue", "--type", "11100000000013338W022", "--holder-code", RegistryCLI.citizen, "--holder-name", "林小明",
              "--invite", "--invite-valid-days", "100"], "--invite-valid-days must be from 1 to 90"),
        ]
        for (arguments, message) in cases {
            let result = try registry.cli.run(arguments + registry.db)
            #expect(result.status == 2 && result.stderr.contains(message), "\(arguments): \(result)")
        }
        #expect(try registry.database.execute("SELECT count(*) FROM holder_invite") == "0")
        #expect(try registry.licenceCount() == 0)
        #expect(!FileManager.default.fileExists(atPath: registry.cli.dir.file("invite.jpg")))
    }

    @Test(arguments: Backend.available)
    func issuingWithInviteMakesCodesThatEnrol(_ backend: Backend) async throws {
        let registry = try RegistryCLI(backend: backend)
        // One licence, as JSON: the licence JSON with the code added.
        let single = try registry.issueDrivingLicence(extra: ["--invite", "--json"] + RegistryCLI.publicURL)
        let record = jsonObject(single.stdout)
        let singleCode = try #require(record["enrolmentCode"] as? String, "\(single)")
        #expect(record["id"] is String && record["token"] is String)
        #expect(record["enrolmentLink"] as? String == "https://licences.example.gov.cn/wallet#enrol=" + singleCode)
        #expect(record["enrolmentExpiresAt"] is String)
        // As text: identifier, token, then the code and the link.
        let text = try registry.issueDrivingLicence(number: "350102199003079999", extra: ["--invite", "--invite-valid-days", "3"] + RegistryCLI.publicURL)
        let lines = text.stdout.split(separator: "\n")
        #expect(lines[0].hasPrefix("1.2.156.3005.2.") && lines[1].hasPrefix("EL1:"), "\(text)")
        let textCode = try #require(text.stdout.firstMatch(of: /绑定码 enrolment code: ([0-9A-Z-]{24})/)?.1, "\(text)")
        #expect(text.stdout.contains("wallet#enrol=\(textCode)"))

        // A batch: one code per holder, on every line of that holder; failed lines get none.
        let csv = """
            type,number,holderName,holderCode,holderCodeType,validFrom,validUntil,field:注册资本,field:法定代表人
            11100000000013338W011,闽市监2026第000401号,"福州甲科技有限公司",91350100MA2Y01111F,001,2026-02-01,,50万元,李四
            11100000000013338W011,闽市监2026第000402号,福州乙贸易有限公司,91110000600037341L,001,2026-02-01,,50万元,王五
            11100000000013338W011,闽市监2026第000403号,"福州甲科技有限公司",91350100MA2Y01111F,001,2026-02-01,,80万元,李四
            11100000000013338W011,闽市监2026第000404号,福州丙有限公司,91350100MA2Y01111A,001,2026-02-01,,1万元,赵六

            """
        let file = try registry.cli.dir.write("licences.csv", csv)
        let batch = try registry.cli.run(["issue", "--batch", file, "--invite", "--batch-size", "2"] + RegistryCLI.publicURL
                                         + registry.db + registry.keys)
        #expect(batch.status == 2 && batch.stdout.contains("issued 3, unchanged 0, failed 1"), "\(batch)")
        #expect(batch.stdout.contains("2 holders, 3 lines"), "\(batch)")
        let report = try registry.cli.dir.read("licences.csv.invites.csv").split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(report.first == ["line", "id", "number", "holderCode", "holderName", "enrolmentCode", "enrolmentLink", "enrolmentExpiresAt"])
        let rows = report.dropFirst()
        #expect(rows.map { $0[0] } == ["2", "3", "4"], "\(report)")
        #expect(rows.map { $0[3] } == ["91350100MA2Y01111F", "91110000600037341L", "91350100MA2Y01111F"])
        #expect(rows.allSatisfy { $0[6] == "https://licences.example.gov.cn/wallet#enrol=" + $0[5] })
        let codes = Dictionary(grouping: rows, by: { $0[3] }).mapValues { Set($0.map { $0[5] }) }
        #expect(codes.values.allSatisfy { $0.count == 1 } && Set(codes.values.map { $0.first! }).count == 2, "\(codes)")
        let mode = try FileManager.default.attributesOfItem(atPath: registry.cli.dir.file("licences.csv.invites.csv"))[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // JSONL, to a chosen file; an unchanged licence is invited too.
        let jsonl = """
            {"type": "11100000000013338W022", "number": "350102199003071234", "holder": {"name": "林小明", "code": "11010519491231002X"}, "validFrom": "2022-03-07", "fields": {"准驾车型": "C1"}}
            """
        let jsonlFile = try registry.cli.dir.write("more.jsonl", jsonl)
        let again = try registry.cli.run(["issue", "--batch", jsonlFile, "--invite", "--invites", registry.cli.dir.file("codes.jsonl")]
                                         + RegistryCLI.publicURL + registry.db + registry.keys)
        #expect(again.status == 0 && again.stdout.contains("unchanged 1"), "\(again)")
        let row = jsonObject(try registry.cli.dir.read("codes.jsonl"))
        #expect(row["line"] as? Int == 1 && row["holderCode"] as? String == RegistryCLI.citizen && row["holderName"] as? String == "林小明")
        let jsonlCode = try #require(row["enrolmentCode"] as? String)
        #expect(row["enrolmentLink"] as? String == "https://licences.example.gov.cn/wallet#enrol=" + jsonlCode)

        try await registry.withStore { store in
            for (code, holder) in [(singleCode, RegistryCLI.citizen), (String(textCode), RegistryCLI.citizen), (jsonlCode, RegistryCLI.citizen)]
                + codes.map({ ($0.value.first!, $0.key) }) {
                let enrolment = try await enrol(code, in: store)
                #expect(enrolledDevice(enrolment)?.holderCode == holder, "\(code): \(enrolment)")
            }
        }
    }

    @Test func theDemoPrintsACitizensEnrolmentLink() async throws {
        let demo = try DemoServer()
        let log = demo.server.log()
        #expect(log.contains("open this link on a phone or in a browser to put this citizen's licences"), "\(log)")
        let match = try #require(log.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\/wallet#enrol=([0-9A-Z-]{24})/), "\(log)")
        #expect(Int(match.1) == demo.server.port)
        let driving = try demo.licences(["--type", try HolderCode.completing("11100000000019713", kind: .creditCode).value + "005"])
        let holders = Set(driving.compactMap { ($0["holder"] as? [String: Any])?["code"] as? String })
        try await RegistryLocation.sqlite(path: demo.database).withRegistry(create: false) { store in
            let device = try #require(enrolledDevice(try await enrol(String(match.2), in: store)))
            #expect(holders.contains(device.holderCode), "\(device.holderCode)")
        }
    }
}

struct WindowCLITests {
    static let agency = "11350100MB0000456D"

    @Test(arguments: Backend.available)
    func addListRevoke(_ backend: Backend) async throws {
        let registry = try RegistryCLI(backend: backend)
        try registry.expectSuccess(["agencies", "add", "--code", Self.agency, "--name", "福州市行政服务中心"] + registry.db)

        let text = try registry.expectSuccess(["windows", "add", "--agency", Self.agency.lowercased(), "--label", "3号窗口"] + registry.db)
        let typed = try #require(text.stdout.firstMatch(of: /elw_[0-9a-f]{64}/).map { String($0.0) }, "\(text)")
        #expect(text.stdout.contains("窗口登录 · Sign in"), "\(text)")
        let added = jsonObject(try registry.expectSuccess(["windows", "add", "--agency", Self.agency, "--label", "4号窗口", "--json"]
                                                          + registry.db).stdout)
        let secret = try #require(added["credential"] as? String)
        #expect(secret.wholeMatch(of: /elw_[0-9a-f]{64}/) != nil && added["label"] as? String == "4号窗口")
        #expect(added["agency"] as? String == Self.agency)
        let id = try #require(added["id"] as? Int)

        try await registry.withStore { (store) async throws in
            // As the server hashes what the clerk typed, surrounding white space and all.
            #expect(try await store.windowCredential(hash: WindowSecret.hash("  \(secret)\n"))?.id == Int64(id))
            #expect(try await store.windowCredential(hash: WindowSecret.hash(typed))?.label == "3号窗口")
            #expect(try await store.windowCredential(hash: WindowSecret.hash(secret.dropLast())) == nil)
        }

        let listed = try registry.expectSuccess(["windows", "list", "--agency", Self.agency, "--json"] + registry.db)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["label"] as? String } == ["3号窗口", "4号窗口"])
        #expect(rows.allSatisfy { $0["active"] as? Bool == true && $0["agencyName"] as? String == "福州市行政服务中心" })
        #expect(!listed.stdout.contains(secret))

        let revoked = try registry.expectSuccess(["windows", "revoke", String(id)] + registry.db)
        #expect(revoked.stdout.contains("revoked"), "\(revoked)")
        try await registry.withStore { (store) async throws in
            #expect(try await store.windowCredential(hash: WindowSecret.hash(secret)) == nil)
            #expect(try await store.windowCredential(hash: WindowSecret.hash(typed)) != nil)
        }
        let table = try registry.expectSuccess(["windows", "list"] + registry.db)
        #expect(table.stdout.contains("revoked 20") && table.stdout.contains("active"), "\(table)")
        let again = try registry.cli.run(["windows", "revoke", String(id)] + registry.db)
        #expect(again.status == 2 && again.stderr.contains("already revoked"), "\(again)")

        // A revoked agency's windows are refused, and it gets no new ones.
        try registry.expectSuccess(["agencies", "revoke", Self.agency] + registry.db)
        try await registry.withStore { (store) async throws in
            #expect(try await store.windowCredential(hash: WindowSecret.hash(typed)) == nil)
        }
        let refused = try registry.cli.run(["windows", "add", "--agency", Self.agency, "--label", "5号窗口"] + registry.db)
        #expect(refused.status == 2 && refused.stderr.contains("--agency") && refused.stderr.contains("revoked"), "\(refused)")
        #expect(try registry.expectSuccess(["windows", "list"] + registry.db).stdout.contains("agency revoked"))
    }

    @Test func badInputExitsTwo() throws {
        let registry = try RegistryCLI()
        try registry.expectSuccess(["agencies", "add", "--code", Self.agency, "--name", "福州市行政服务中心"] + registry.db)
        let cases: [([String], String)] = [
            (["windows", "add", "--agency", "11350100MB0000457G", "--label", "3号窗口"], "--agency: no agency 11350100MB0000457G"),
            (["windows", "add", "--agency", "11350100MB0000457D", "--label", "3号窗口"], "expected G"),
            (["windows", "add", "--agency", Self.agency, "--label", "  "], "--label must not be empty"),
            (["windows", "add", "--agency", Self.agency], "--label"),
            (["windows", "list", "--agency", "11350100MB0000457G"], "no agency"),
            (["windows", "revoke", "3"], "no window credential 3"),
            (["windows", "revoke", "three"], "expected a number"),
        ]
        for (arguments, message) in cases {
            let result = try registry.cli.run(arguments + registry.db)
            #expect(result.status == 2 && result.stderr.contains(message), "\(arguments): \(result)")
        }
        #expect(try registry.database.execute("SELECT count(*) FROM window_credential") == "0")
    }
}
