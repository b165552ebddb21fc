import Foundation
import LicenceCore
import TestSupport
import Testing

/// A key directory with an issuer key and a status key in one temporary directory, and a registry of
/// the test's own (a SQLite file there, or a PostgreSQL database) with the business-licence and
/// driving-licence types.
struct RegistryCLI {
    let cli = CLI()
    let database: TestDatabase
    var db: [String] { database.arguments }
    var keys: [String] { ["--keys", cli.keys] }

    init(alg: String = "sm2", backend: Backend = .sqlite) throws {
        database = try TestDatabase(backend, directory: cli.dir)
        _ = try cli.generateKey(alg)
        _ = try cli.generateKey("es256", role: "status")
        try expectSuccess(["types", "add", "--code", "11100000000013338W011", "--name", "营业执照", "--holder-kind", "enterprise",
                           "--sharing", "unconditional", "--field", "注册资本", "法定代表人", "经营范围?", "--disclose", "法定代表人",
                           "--validity-years", "20"] + db)
        try expectSuccess(["types", "add", "--code", "11100000000013338W022", "--name", "机动车驾驶证", "--holder-kind", "citizen",
                           "--sharing", "conditional", "--field", "准驾车型", "--disclose", "准驾车型", "--validity-years", "6"] + db)
    }

    @discardableResult
    func expectSuccess(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        let result = try cli.run(arguments, stdin: stdin)
        #expect(result.status == 0, "\(arguments.prefix(3)): \(result)")
        return result
    }

    /// Issues one business licence; returns (id, token).
    func issue(number: String = "闽市监2026第000123号", holderName: String = "福州某某科技有限公司",
               extra: [String] = []) throws -> (id: String, token: String) {
        let result = try expectSuccess(["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                                        "--holder-name", holderName, "--number", number, "--valid-from", "2026-01-15",
                                        "--field", "注册资本=100万元人民币", "法定代表人=张三", "--json"] + extra + db + keys)
        let record = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (try #require(record?["id"] as? String), try #require(record?["token"] as? String))
    }

    /// Exports the status lists and verifies offline with them; returns the outcome code and exit status.
    func verifyOffline(_ token: String) throws -> (outcome: String, status: Int32) {
        try expectSuccess(["status-list", "export", "--out", cli.dir.file("lists")] + keys + db)
        let result = try cli.run(["verify", token, "--status-list", cli.dir.file("lists"), "--json"] + keys)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["statusChecked"] as? Bool == true, "\(result)")
        return (report?["outcome"] as? String ?? "?", result.status)
    }

    func licenceCount() throws -> Int {
        try cli.run(["list", "--json"] + db).stdout.split(separator: "\n").count
    }
}

struct RegistryEndToEndTests {
    @Test(arguments: Backend.available)
    func issueVerifySuspendReinstateRevoke(_ backend: Backend) throws {
        let registry = try RegistryCLI(backend: backend)
        let (id, token) = try registry.issue()
        #expect(id.hasPrefix("1.2.156.3005.2.11100000000013338W011.11350000003591037R."))

        // Offline without a list: valid, status not checked.
        let plain = try registry.cli.verifyJSON(token)
        #expect(plain.status == 0 && plain.report["statusChecked"] as? Bool == false)
        #expect(try registry.verifyOffline(token) == ("valid", 0))

        try registry.expectSuccess(["suspend", id, "--reason", "涉嫌违法经营"] + registry.db)
        #expect(try registry.verifyOffline(token) == ("suspended", 1))
        try registry.expectSuccess(["reinstate", id, "--reason", "调查结束"] + registry.db)
        #expect(try registry.verifyOffline(token) == ("valid", 0))
        try registry.expectSuccess(["revoke", id, "--reason", "吊销营业执照"] + registry.db)
        #expect(try registry.verifyOffline(token) == ("revoked", 1))

        let again = try registry.cli.run(["reinstate", id, "--reason", "x"] + registry.db)
        #expect(again.status == 2 && again.stderr.contains("revocation is final"))

        let shown = try registry.expectSuccess(["show", id, "--json"] + registry.db)
        let document = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let history = (document?["history"] as? [[String: Any]])?.map { $0["status"] as? String }
        #expect(history == ["valid", "suspended", "valid", "revoked"])
        #expect((document?["licence"] as? [String: Any])?["status"] as? String == "revoked")
    }

    @Test(arguments: Backend.available)
    func newVersionsSupersede(_ backend: Backend) throws {
        let registry = try RegistryCLI(alg: "ed25519", backend: backend)
        let (id, token) = try registry.issue()
        // The same licence again is a no-op.
        let (sameID, _) = try registry.issue()
        #expect(sameID == id)
        // Different content under the same number is refused, then superseded on request.
        let refused = try registry.cli.run(["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                                            "--holder-name", "福州某某科技股份有限公司", "--number", "闽市监2026第000123号",
                                            "--valid-from", "2026-01-15", "--field", "注册资本=100万元人民币", "法定代表人=张三"]
                                           + registry.db + registry.keys)
        #expect(refused.status == 2 && refused.stderr.contains("--new-version"))
        let (newID, newToken) = try registry.issue(holderName: "福州某某科技股份有限公司", extra: ["--new-version"])
        #expect(newID.hasSuffix(".002." + newID.suffix(1)))
        #expect(try registry.verifyOffline(token) == ("superseded", 1))
        #expect(try registry.verifyOffline(newToken) == ("valid", 0))
    }

    @Test(arguments: Backend.available)
    func bulkIssuanceReportsBadLinesAndIsIdempotent(_ backend: Backend) throws {
        let registry = try RegistryCLI(alg: "es256", backend: backend)
        let csv = """
            type,number,holderName,holderCode,holderCodeType,validFrom,validUntil,field:注册资本,field:法定代表人,field:经营范围
            11100000000013338W011,闽市监2026第000201号,福州甲科技有限公司,91350100MA2Y01111F,001,2026-02-01,,50万元,李四,软件开发
            11100000000013338W011,闽市监2026第000202号,福州乙贸易有限公司,91350100MA2Y01111A,001,2026-02-01,,50万元,王五,
            11100000000013338W011,闽市监2026第000203号,福州丙餐饮有限公司,91110000600037341L,001,2026-02-30,,50万元,赵六,
            11100000000013338W011,闽市监2026第000204号,福州丁有限公司,91110000600037341L,001,2026-02-01,长期,,赵六,
            11100000000013338W099,闽市监2026第000205号,福州戊有限公司,91110000600037341L,001,2026-02-01,,1万元,赵六,
            11100000000013338W011,闽市监2026第000206号,福州己有限公司,91110000600037341L,001,2026-02-01,2030-01-31,1万元,钱七,
            11100000000013338W011,闽市监2026第000207号,福州庚有限公司,91110000600037341L,001,2026-02-01,,1万元,钱七,,多余
            11100000000013338W011,闽市监2026第000208号,福州辛有限公司,91110000600037341L,001,2026-02-01,长期,1万元,孙八,

            """
        let file = try registry.cli.dir.write("licences.csv", csv)
        let first = try registry.cli.run(["issue", "--batch", file] + registry.db + registry.keys)
        #expect(first.status == 2)
        #expect(first.stdout.contains("issued 3, unchanged 0, failed 5"), "\(first)")
        let expectedErrors: [(Int, String)] = [(3, "holderCode"), (4, "validFrom"), (5, "field:注册资本"), (6, "type"), (8, "")]
        let lines = try registry.cli.dir.read("licences.csv.errors.jsonl").split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        let report = lines.filter { $0["error"] != nil }
        #expect(report.map { $0["line"] as? Int } == expectedErrors.map(\.0))
        // Line 9 names the holder of line 7 otherwise: issued, with a warning.
        let warnings = lines.filter { $0["warning"] != nil }
        #expect(warnings.map { $0["line"] as? Int } == [9] && warnings.first?["field"] as? String == "holderName", "\(lines)")
        #expect(first.stdout.contains("failed 5, 1 warning"), "\(first)")
        #expect(report.map { $0["field"] as? String ?? "" } == expectedErrors.map(\.1))
        #expect(first.stderr.contains("line 3: holderCode: 统一社会信用代码 91350100MA2Y01111A has check character A; expected F"))
        #expect(try registry.licenceCount() == 3)

        // The same file again issues nothing new.
        let second = try registry.cli.run(["issue", "--batch", file] + registry.db + registry.keys)
        #expect(second.status == 2 && second.stdout.contains("issued 0, unchanged 3, failed 5"), "\(second)")
        #expect(try registry.licenceCount() == 3)

        // JSONL with Chinese names, and one-number lookup across both files.
        let jsonl = """
            {"type": "11100000000013338W011", "number": "闽市监2026第000301号", "holder": {"name": "厦门某某有限公司", "code": "91110000600037341L"}, "validFrom": "2026-03-01", "fields": {"注册资本": "1亿元", "法定代表人": "周九"}}
            {"type": "11100000000013338W022", "number": "350102199003071234", "holder": {"name": "林小明", "code": "11010519491231002X"}, "validFrom": "2020-03-07", "validUntil": null, "fields": {"准驾车型": "C1"}}
            """
        let jsonlFile = try registry.cli.dir.write("more.jsonl", jsonl)
        let third = try registry.cli.run(["issue", "--batch", jsonlFile] + registry.db + registry.keys)
        #expect(third.status == 0, "\(third)")
        // The registry knows 91110000600037341L under other names: issued, with a warning, and no error.
        #expect(third.stderr.contains("more.jsonl line 1: holder.name: holder code 91110000600037341L is registered as 福州己有限公司"),
                "\(third.stderr)")
        #expect(third.stderr.contains("this licence names 厦门某某有限公司"))
        #expect(try !registry.cli.dir.read("more.jsonl.errors.jsonl").contains("\"error\""))
        let holder = try registry.cli.run(["list", "--holder-code", "91110000600037341L", "--json"] + registry.db)
        #expect(holder.stdout.split(separator: "\n").count == 3)  // lines 7 and 9 of the CSV, line 1 of the JSONL
        let citizen = try registry.cli.run(["list", "--holder-code", "11010519491231002X", "--json"] + registry.db)
        let record = try JSONSerialization.jsonObject(with: Data(citizen.stdout.utf8)) as? [String: Any]
        #expect(record?["validUntil"] is NSNull)
        #expect((record?["holder"] as? [String: String])?["code"] == "11010519491231002X")  // the registry keeps it whole
        let token = try #require(record?["token"] as? String)
        let verified = try registry.cli.verifyJSON(token)
        #expect(((verified.report["licence"] as? [String: Any])?["holder"] as? [String: String])?["code"] == "110105********002X")
    }

    /// A batch file is read a chunk at a time: lines cross the reader's 1 MiB blocks, a UTF-8 byte-order
    /// mark and CRLF line ends are taken off, and a line past the length limit fails alone.
    @Test func bulkFilesAreReadInChunks() throws {
        let registry = try RegistryCLI(alg: "ed25519")
        let padding = String(repeating: " ", count: 2_000)
        var lines = (1...600).map {
            #"{"type": "11100000000013338W011", "number": "闽市监2026第\#($0)号", "holder": {"name": "某公司", "code": "91350100MA2Y01111F"}, "validFrom": "2026-03-01", "fields": {"注册资本": "1万元", "法定代表人": "周九"}}"# + padding
        }
        lines[299] = #"{"type": ""# + String(repeating: "x", count: 70_000) + #""}"#
        let file = try registry.cli.dir.write("large.jsonl", bytes: [0xef, 0xbb, 0xbf] + Array(lines.joined(separator: "\r\n").utf8))
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0) > 1_300_000)
        let result = try registry.cli.run(["issue", "--batch", file, "--batch-size", "100", "--progress", "jsonl"]
                                          + registry.db + registry.keys)
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.contains("600 lines: issued 599, unchanged 0, failed 1"), "\(result.stdout)")
        #expect(result.stderr.contains("line 300: the line is longer than 65536 bytes"), "\(result.stderr)")
        #expect(result.stderr.contains(#""total":600"#))
        #expect(try registry.licenceCount() == 599)
        // Not a file: a device that would never end, a directory.
        for path in ["/dev/zero", registry.cli.dir.file("")] {
            let refused = try registry.cli.run(["issue", "--batch", path] + registry.db + registry.keys)
            #expect(refused.status == 2 && refused.stderr.contains("is not a regular file"), "\(refused)")
        }
    }

    @Test func bulkProgressReportsEachCommittedTransaction() throws {
        let registry = try RegistryCLI(alg: "ed25519")
        func line(_ number: Int, holderCode: String = "91350100MA2Y01111F") -> String {
            #"{"type": "11100000000013338W011", "number": "闽市监2026第\#(number)号", "holder": {"name": "某公司\#(number)", "code": "\#(holderCode)"}, "validFrom": "2026-03-01", "fields": {"注册资本": "1万元", "法定代表人": "周九"}}"#
        }
        // Line 3 has a wrong check character; line 5 is blank and not a licence.
        let text = [line(1), line(2), line(3, holderCode: "91350100MA2Y01111A"), line(4), "", line(6)].joined(separator: "\n")
        let file = try registry.cli.dir.write("progress.jsonl", text)
        func progress(_ result: ProcessResult) -> [[String: Any]] {
            result.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        let first = try registry.cli.run(["issue", "--batch", file, "--batch-size", "2", "--progress", "jsonl"]
                                         + registry.db + registry.keys)
        #expect(first.status == 2, "\(first)")
        let transactions = progress(first)
        #expect(transactions.map { $0["firstLine"] as? Int } == [1, 3, 6], "\(first.stderr)")
        #expect(transactions.map { $0["lastLine"] as? Int } == [2, 4, 6])
        #expect(transactions.map { $0["failedLines"] as? [Int] } == [[], [3], []])
        #expect(transactions.map { $0["issued"] as? Int } == [2, 1, 1])
        #expect(transactions.map { $0["done"] as? Int } == [2, 4, 5])
        #expect(transactions.allSatisfy { $0["total"] as? Int == 5 && $0["unchanged"] as? Int == 0 })
        #expect(first.stdout.contains("issued 4, unchanged 0, failed 1"), "\(first)")
        #expect(try registry.licenceCount() == 4)

        let again = try registry.cli.run(["issue", "--batch", file, "--batch-size", "3", "--progress", "jsonl"]
                                         + registry.db + registry.keys)
        #expect(progress(again).map { $0["unchanged"] as? Int } == [2, 2], "\(again.stderr)")
        #expect(progress(again).map { $0["lastLine"] as? Int } == [3, 6])

        // Without the option nothing but errors reaches standard error when it is not a terminal.
        let plain = try registry.cli.run(["issue", "--batch", file] + registry.db + registry.keys)
        #expect(progress(plain).isEmpty && plain.stderr.contains("line 3: holder.code"), "\(plain.stderr)")
    }

    @Test(arguments: ["sm2", "es256", "ed25519"])
    func qrCodesScanBackToTheToken(_ alg: String) throws {
        let registry = try RegistryCLI(alg: alg)
        let (id, token) = try registry.issue(holderName: "福建省福州市某某数字科技有限公司")
        let png = registry.cli.dir.file("licence.png")
        try registry.expectSuccess(["qr", id, "--format", "png", "--out", png, "--scale", "4"] + registry.db)
        let scanned = try run("zbarimg", ["--raw", "--nodbus", "-q", png])
        #expect(scanned.status == 0, "\(scanned)")
        #expect(scanned.stdout == token + "\n")
        let svg = try registry.expectSuccess(["qr", id, "--format", "svg"] + registry.db)
        #expect(svg.stdout.hasPrefix("<?xml") && svg.stdout.contains("<svg"))
        let terminal = try registry.expectSuccess(["qr", id] + registry.db)
        #expect(terminal.stdout.contains("█"))
    }

    @Test(arguments: Backend.available)
    func badInputNamesTheProblemAndWritesNothing(_ backend: Backend) throws {
        let registry = try RegistryCLI(backend: backend)
        let base = ["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F", "--holder-name", "某公司",
                    "--number", "N1", "--field", "注册资本=1万元", "法定代表人=张三"]
        func replacing(_ option: String, with value: String) -> [String] {
            var arguments = base
            arguments[arguments.firstIndex(of: option)! + 1] = value
            return arguments
        }
        let cases: [([String], String)] = [
            (replacing("--type", with: "11100000000013338W099"), "--type: licence type 11100000000013338W099 is not in the catalogue"),
            (replacing("--holder-code", with: "91350100MA2Y01111A"), "--holder-code: 统一社会信用代码 91350100MA2Y01111A has check character A; expected F"),
            (base + ["--valid-from", "2026-13-01"], "--valid-from"),
            (base + ["--valid-from", "2026-01-10", "--valid-until", "2025-01-01"], "--valid-until"),
            (Array(base.dropLast(1)), "--field 法定代表人: is required"),
            (base + ["--field", "经营期限=长期"], "--field 经营期限: is not a field of 营业执照"),
            (base + ["--field", "oops"], "expected KEY=VALUE"),
            (base + ["--holder-code-type", "111"], "--holder-code"),
            (["issue", "--batch", registry.cli.dir.file("none.csv")], "none.csv"),
            (["revoke", "1.2.156.3005.2.11100000000013338W011.11350000003591037R.20260000001.001.B", "--reason", "x"], "no licence"),
            (["revoke", "not-an-id", "--reason", "x"], "ID:"),
            (["types", "add", "--code", "11100000000013338W011", "--name", "重复", "--holder-kind", "enterprise", "--sharing", "none"],
             "already exists"),
            (["types", "add", "--code", "X1", "--name", "x", "--holder-kind", "enterprise", "--sharing", "none"], "--code"),
            (["types", "add", "--code", "11100000000013338W033", "--name", "x", "--holder-kind", "enterprise", "--sharing", "none",
              "--field", "a", "--disclose", "b"], "--disclose"),
        ]
        for (arguments, message) in cases {
            let result = try registry.cli.run(arguments + registry.db + (arguments[0] == "issue" ? registry.keys : []))
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(try registry.licenceCount() == 0)

        let binary = try registry.cli.dir.write("binary.jsonl", bytes: [0xff, 0xfe, 0x00, 0x41])
        let notUTF8 = try registry.cli.run(["issue", "--batch", binary] + registry.db + registry.keys)
        #expect(notUTF8.status == 2 && notUTF8.stderr.contains("not UTF-8"))
        let malformed = try registry.cli.dir.write("bad.jsonl", "{\"type\": \"11100000000013338W011\"\nnot json\n")
        let result = try registry.cli.run(["issue", "--batch", malformed] + registry.db + registry.keys)
        #expect(result.status == 2)
        #expect(result.stderr.contains("line 1:") && result.stderr.contains("line 2:"))
        let header = try registry.cli.dir.write("bad.csv", "type,number,holder\nx,y,z\n")
        let badHeader = try registry.cli.run(["issue", "--batch", header] + registry.db + registry.keys)
        #expect(badHeader.status == 2 && badHeader.stderr.contains("line 1"))
        #expect(try registry.licenceCount() == 0)
    }
}
