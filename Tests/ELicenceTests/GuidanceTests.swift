import Foundation
import LicenceCore
import TestSupport
import Testing

/// Messages that say what to do, and the defaults a new user meets first.
struct VerifierGuidanceTests {
    @Test func aVerifierWithoutATrustListIsToldToGetTheIssuers() throws {
        let cli = CLI()
        _ = try cli.generateKey("es256")
        let token = try cli.sign()
        let missing = try cli.run(["verify", token, "--keys", cli.dir.file("nowhere")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("needs the issuing agency's current trust-list.json") && missing.stderr.contains("--keys DIR"),
                "\(missing.stderr)")
        #expect(!missing.stderr.contains("keys generate"))

        // --keys takes the directory, not the file; the message names the directory to give.
        let file = try cli.run(["verify", token, "--keys", cli.keys + "/trust-list.json"])
        #expect(file.status == 2 && file.stderr.contains("give --keys \((cli.keys as NSString).standardizingPath)"), "\(file.stderr)")
        let renamed = try cli.dir.write("fujian-trust.json", try String(contentsOfFile: cli.keys + "/trust-list.json", encoding: .utf8))
        let other = try cli.run(["verify", token, "--keys", renamed])
        #expect(other.status == 2 && other.stderr.contains("save it as DIR/trust-list.json and give --keys DIR"), "\(other.stderr)")
        // Given the directory that holds only the trust list, a verifier verifies.
        let verifier = cli.dir.file("verifier")
        try FileManager.default.createDirectory(atPath: verifier, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cli.keys + "/trust-list.json", toPath: verifier + "/trust-list.json")
        #expect(try cli.run(["verify", token, "--keys", verifier]).status == 0)
    }

    @Test func aStatusListSignedByAKeyNewerThanTheTrustListSaysSo() throws {
        let registry = try RegistryCLI(alg: "es256")
        let (_, token) = try registry.issue()
        // The verifier took its copy of the trust list, then the issuer made a new status key.
        let verifier = registry.cli.dir.file("verifier")
        try FileManager.default.createDirectory(atPath: verifier, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: registry.cli.keys + "/trust-list.json", toPath: verifier + "/trust-list.json")
        _ = try registry.cli.generateKey("ed25519", role: "status")
        let lists = registry.cli.dir.file("lists")
        try registry.expectSuccess(["status-list", "export", "--out", lists] + registry.keys + registry.db)
        let old = try registry.cli.run(["verify", token, "--status-list", lists, "--keys", verifier])
        #expect(old.status == 2)
        #expect(old.stderr.contains("your trust list is older than the status list's key; fetch the issuer's current trust list"),
                "\(old.stderr)")
        // With the current one it verifies.
        #expect(try registry.cli.run(["verify", token, "--status-list", lists] + registry.keys).status == 0)
    }
}

struct IssuerGuidanceTests {
    @Test(arguments: Backend.available)
    func aHolderCodeOfTheOtherKindIsNamed(_ backend: Backend) throws {
        let registry = try RegistryCLI(backend: backend)
        let company = try registry.cli.run(["issue", "--type", "11100000000013338W011", "--holder-code", "11010519491231002X",
                                            "--holder-name", "福州某某科技有限公司", "--field", "注册资本=1万元", "法定代表人=张三"]
                                           + registry.db + registry.keys)
        #expect(company.status == 2)
        #expect(company.stderr.contains("""
            --holder-code: licence type 11100000000013338W011 (营业执照) is for enterprises, whose holder code is a 统一社会信用代码 \
            (unified social credit code); 11010519491231002X is a 公民身份号码 (citizen ID number)
            """), "\(company.stderr)")
        let citizen = try registry.cli.run(["issue", "--type", "11100000000013338W022", "--holder-code", "91350100MA2Y01111F",
                                            "--holder-name", "林小明", "--field", "准驾车型=C1"] + registry.db + registry.keys)
        #expect(citizen.status == 2)
        #expect(citizen.stderr.contains("is for citizens, whose holder code is a 公民身份号码 (citizen ID number); "
            + "91350100MA2Y01111F is a 统一社会信用代码 (unified social credit code)"), "\(citizen.stderr)")
        // The same in a batch, by line and column.
        let csv = try registry.cli.dir.write("kinds.csv", """
            type,number,holderName,holderCode,validFrom,field:注册资本,field:法定代表人
            11100000000013338W011,K1,福州某某科技有限公司,11010519491231002X,2026-01-01,1万元,张三

            """)
        let batch = try registry.cli.run(["issue", "--batch", csv] + registry.db + registry.keys)
        #expect(batch.status == 2 && batch.stderr.contains("line 2: holderCode: licence type 11100000000013338W011 (营业执照) is for enterprises"),
                "\(batch.stderr)")
        #expect(try registry.licenceCount() == 0)
    }

    @Test func aHolderCodeKnownUnderAnotherNameIsIssuedWithAWarning() throws {
        let registry = try RegistryCLI()
        _ = try registry.issue()  // 福州某某科技有限公司, 91350100MA2Y01111F
        let other = try registry.cli.run(["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                                          "--holder-name", "福州某某餐饮有限公司", "--number", "N2", "--field", "注册资本=1万元",
                                          "法定代表人=王五"] + registry.db + registry.keys)
        #expect(other.status == 0, "\(other)")
        #expect(other.stderr.contains("""
            elicence: warning: --holder-name: holder code 91350100MA2Y01111F is registered as 福州某某科技有限公司 \
            (licence 闽市监2026第000123号); this licence names 福州某某餐饮有限公司: check the holder's name and code
            """), "\(other.stderr)")
        #expect(other.stdout.hasPrefix("1.2.156.3005.2."))

        // In a batch: on standard error, in the report, and in the progress lines.
        let csv = try registry.cli.dir.write("names.csv", """
            type,number,holderName,holderCode,validFrom,field:注册资本,field:法定代表人
            11100000000013338W011,M1,甲公司,91350100MA2Y03333H,2026-01-01,1万元,张三
            11100000000013338W011,M2,乙公司,91350100MA2Y03333H,2026-01-01,1万元,张三

            """)
        let batch = try registry.cli.run(["issue", "--batch", csv, "--progress", "jsonl"] + registry.db + registry.keys)
        #expect(batch.status == 0 && batch.stdout.contains("issued 2, unchanged 0, failed 0, 1 warning"), "\(batch)")
        #expect(batch.stderr.contains("warning: \(csv) line 3: holderName: holder code 91350100MA2Y03333H is named 甲公司 earlier in this batch"),
                "\(batch.stderr)")
        #expect(batch.stderr.contains("\"warnedLines\":[3]"))
        let report = try registry.cli.dir.read("names.csv.errors.jsonl")
        #expect(report.contains("\"line\":3") && report.contains("\"warning\":") && !report.contains("\"error\":"), "\(report)")
    }

    @Test(arguments: Backend.available)
    func thePublicURLComesFromTheOptionTheEnvironmentOrTheRegistry(_ backend: Backend) throws {
        let registry = try RegistryCLI(backend: backend)
        func statusURI(_ number: String, extra: [String] = [], environment: [String: String] = [:]) throws -> String? {
            let result = try registry.cli.run(["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                                               "--holder-name", "福州某某科技有限公司", "--number", number, "--field", "注册资本=1万元",
                                               "法定代表人=张三"] + extra + registry.db + registry.keys, environment: environment)
            #expect(result.status == 0, "\(result)")
            let token = String(result.stdout.split(separator: "\n").last ?? "")
            return try LicenceToken.decode(token).claims.status?.uri
        }
        let none = ["ELICENCE_PUBLIC_URL": ""]
        #expect(try statusURI("U1", environment: none) == "http://127.0.0.1:8080/v1/status-lists/0")
        let set = try registry.expectSuccess(["registry", "set", "public-url", "https://licences.example.gov.cn/"] + registry.db)
        #expect(set.stdout == "public-url = https://licences.example.gov.cn\n")
        #expect(try statusURI("U2", environment: none)?.hasPrefix("https://licences.example.gov.cn/v1/status-lists/") == true)
        let fromEnvironment = ["ELICENCE_PUBLIC_URL": "https://env.example.gov.cn"]
        #expect(try statusURI("U3", environment: fromEnvironment)?.hasPrefix("https://env.example.gov.cn/v1/status-lists/") == true)
        #expect(try statusURI("U4", extra: ["--public-url", "https://option.example.gov.cn"], environment: fromEnvironment)?
            .hasPrefix("https://option.example.gov.cn/v1/status-lists/") == true)
        let settings = try registry.expectSuccess(["registry", "settings", "--json"] + registry.db)
        #expect(settings.stdout.contains("\"public-url\" : \"https://licences.example.gov.cn\""), "\(settings.stdout)")
        let bad = try registry.cli.run(["registry", "set", "public-url", "licences.example.gov.cn"] + registry.db)
        #expect(bad.status == 2 && bad.stderr.contains("must be an http:// or https:// URL"), "\(bad)")
        try registry.expectSuccess(["registry", "unset", "public-url"] + registry.db)
        #expect(try statusURI("U5", environment: none) == "http://127.0.0.1:8080/v1/status-lists/0")
    }

    @Test func theDefaultPublicURLIsCalledOutOnATerminal() throws {
        let script = try #require(["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "script (util-linux) runs a command on a terminal")
        let registry = try RegistryCLI()
        let issue = ([Paths.elicence, "issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                      "--holder-name", "福州某某科技有限公司", "--field", "注册资本=1万元", "法定代表人=张三"] + registry.db + registry.keys)
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let onTerminal = try run(script, ["-qec", issue, "/dev/null"], environment: ["ELICENCE_PUBLIC_URL": ""],
                                 currentDirectory: registry.cli.dir.path)
        #expect(onTerminal.status == 0, "\(onTerminal)")
        #expect(onTerminal.stdout.contains("warning: tokens will name their status list at http://127.0.0.1:8080")
                && onTerminal.stdout.contains("elicence registry set public-url URL"), "\(onTerminal.stdout)")
        // Not on a terminal (a script's log), or with the address set: no warning.
        let plain = try registry.cli.run(["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                                          "--holder-name", "福州某某科技有限公司", "--field", "注册资本=1万元", "法定代表人=张三"]
                                         + registry.db + registry.keys, environment: ["ELICENCE_PUBLIC_URL": ""])
        #expect(plain.status == 0 && !plain.stderr.contains("warning"), "\(plain)")
        try registry.expectSuccess(["registry", "set", "public-url", "https://licences.example.gov.cn"] + registry.db)
        let set = try run(script, ["-qec", issue, "/dev/null"], environment: ["ELICENCE_PUBLIC_URL": ""],
                          currentDirectory: registry.cli.dir.path)
        #expect(set.status == 0 && !set.stdout.contains("warning"), "\(set)")
    }

    @Test func showPrintsTheRelatedMatterTheTokenAndAServiceWindowLink() throws {
        let registry = try RegistryCLI()
        let (id, token) = try registry.issue(extra: ["--related-matter", "设立登记", "--public-url", "https://licences.example.gov.cn"])
        let shown = try registry.expectSuccess(["show", id] + registry.db)
        #expect(shown.stdout.contains("关联事项 related matter  设立登记"), "\(shown.stdout)")
        let link = try #require(shown.stdout.split(separator: "\n").first { $0.hasPrefix("https://licences.example.gov.cn/#token=EL1%3A") })
        #expect(String(link.dropFirst("https://licences.example.gov.cn/#token=".count)).removingPercentEncoding == token)
        #expect(try registry.expectSuccess(["show", id, "--token"] + registry.db).stdout == token + "\n")
        let json = try registry.expectSuccess(["show", id, "--json"] + registry.db).stdout
        #expect(json.contains("\"relatedMatter\" : \"设立登记\""))
        // History times are ISO 8601, like the licence's issuedAt.
        #expect(json.range(of: #""at" : "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z""#, options: .regularExpression) != nil, "\(json)")
    }

    @Test func aKeyPastItsValidityPeriodSignsNothingNew() throws {
        let registry = try RegistryCLI(alg: "es256")
        let (id, token) = try registry.issue()
        // The key's period of use ends a second after it signed the licence (as if that were ten years on).
        let path = registry.cli.keys + "/trust-list.json"
        var document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var keys = try #require(document["keys"] as? [[String: Any]])
        let end = Timestamp.format(Int64(Date().timeIntervalSince1970) + 1)
        for index in keys.indices where keys[index]["role"] as? String == "issuer" { keys[index]["notAfter"] = end }
        document["keys"] = keys
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
        Thread.sleep(forTimeInterval: 2.1)
        let refused = try registry.cli.run(["issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F",
                                            "--holder-name", "福州某某科技有限公司", "--number", "N2", "--field", "注册资本=1万元",
                                            "法定代表人=张三"] + registry.db + registry.keys)
        #expect(refused.status == 2 && refused.stderr.contains("expired at \(end) and signs nothing new"), "\(refused)")
        #expect(refused.stderr.contains("elicence keys generate"))
        // What it signed stays valid.
        #expect(try registry.cli.verifyJSON(token).status == 0)
        #expect(try registry.cli.run(["show", id] + registry.db).status == 0)
    }
}
