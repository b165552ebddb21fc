import Foundation
import LicenceCore
import TestSupport
import Testing

/// End-to-end runs of the real `elicence` binary, each in a directory of its own.
struct CLI {
    let dir = TemporaryDirectory("elicence-cli")
    var keys: String { dir.file("keys") }

    static let issuerCode = "11350000003591037R"
    static let issuerName = "福州市市场监督管理局"

    static let businessLicence = """
        {"type": "11100000000013338W011", "typeName": "营业执照", "number": "闽市监2026第000123号",
         "holder": {"name": "福州某某科技有限公司", "code": "91350100MA2Y01111F", "codeType": "001"},
         "issuer": {"name": "福州市市场监督管理局", "code": "11350000003591037R"},
         "validFrom": "2026-01-15", "validUntil": "2046-01-14",
         "fields": {"注册资本": "100万元人民币", "法定代表人": "张三"}}
        """

    static let drivingLicence = """
        {"type": "11100000000013338W022", "typeName": "机动车驾驶证", "number": "350102199003071234",
         "holder": {"name": "林小明", "code": "11010519491231002X", "codeType": "111"},
         "validFrom": "2020-03-07", "validUntil": null, "fields": {"准驾车型": "C1"}}
        """

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
        try TestSupport.run(Paths.elicence, arguments, stdin: stdin, environment: environment, currentDirectory: dir.path)
    }

    /// `keys generate` into this test's key directory; returns the new kid.
    func generateKey(_ alg: String = "sm2", role: String = "issuer", environment: [String: String] = [:],
                     extra: [String] = []) throws -> String {
        let result = try run(["keys", "generate", "--alg", alg, "--role", role, "--issuer-code", Self.issuerCode,
                              "--issuer-name", Self.issuerName, "--keys", keys, "--json"] + extra, environment: environment)
        #expect(result.status == 0, "\(result)")
        let entry = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(entry?["kid"] as? String)
    }

    func sign(_ licence: String = businessLicence, alg: String? = nil, environment: [String: String] = [:]) throws -> String {
        let file = try dir.write("licence-\(UUID().uuidString).json", licence)
        let result = try run(["sign", file, "--keys", keys] + (alg.map { ["--alg", $0] } ?? []), environment: environment)
        #expect(result.status == 0, "\(result)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func verifyJSON(_ token: String, extra: [String] = []) throws -> (status: Int32, report: [String: Any]) {
        let result = try run(["verify", token, "--keys", keys, "--json"] + extra)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        return (result.status, report)
    }
}

struct KeysCommandTests {
    @Test func generateListRetireCompromise() throws {
        let cli = CLI()
        let sm2 = try cli.generateKey()  // SM2 is the default
        let es = try cli.generateKey("es256")
        let ed = try cli.generateKey("ed25519", role: "status")
        let mode = try FileManager.default.attributesOfItem(atPath: cli.keys + "/private/\(sm2).key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let listed = try cli.run(["keys", "list", "--keys", cli.keys, "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(entries.map { $0["alg"] as? String } == ["SM2", "ES256", "EdDSA"])
        #expect(entries.map { $0["role"] as? String } == ["issuer", "issuer", "status"])
        #expect(entries.allSatisfy { ($0["publicKey"] as? String)?.hasPrefix("-----BEGIN PUBLIC KEY-----") == true })
        #expect(entries.allSatisfy { ($0["issuer"] as? [String: String])?["code"] == CLI.issuerCode })

        #expect(try cli.run(["keys", "retire", es, "--keys", cli.keys]).status == 0)
        #expect(try cli.run(["keys", "compromise", ed, "--keys", cli.keys]).status == 0)
        let table = try cli.run(["keys", "list", "--keys", cli.keys])
        #expect(table.stdout.contains("retired") && table.stdout.contains("compromised") && table.stdout.contains("active"))
        let again = try cli.run(["keys", "retire", ed, "--keys", cli.keys])
        #expect(again.status == 2 && again.stderr.contains("compromised"))
        let unknown = try cli.run(["keys", "compromise", "0123456789abcdef", "--keys", cli.keys])
        #expect(unknown.status == 2 && unknown.stderr.contains("no key with kid 0123456789abcdef"))
    }

    @Test func insecurePrivateKeyIsRefusedWithAFix() throws {
        let cli = CLI()
        let kid = try cli.generateKey("ed25519")
        let path = cli.keys + "/private/\(kid).key.pem"
        chmod(path, 0o644)
        let file = try cli.dir.write("licence.json", CLI.businessLicence)
        let result = try cli.run(["sign", file, "--keys", cli.keys])
        #expect(result.status == 2)
        #expect(result.stderr.contains("chmod 600") && result.stderr.contains(kid))
        #expect(result.stdout.isEmpty)
    }

    @Test func encryptedKeysTakeTheirPassphraseFromTheEnvironmentOrAFile() throws {
        let cli = CLI()
        let env = ["ELICENCE_KEY_PASSPHRASE": "闽 correct horse"]
        let kid = try cli.generateKey("sm2", environment: env)
        let pem = try String(contentsOfFile: cli.keys + "/private/\(kid).key.pem", encoding: .utf8)
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))

        let file = try cli.dir.write("licence.json", CLI.businessLicence)
        let without = try cli.run(["sign", file, "--keys", cli.keys])
        #expect(without.status == 2 && without.stderr.contains("ELICENCE_KEY_PASSPHRASE"))
        let wrong = try cli.run(["sign", file, "--keys", cli.keys], environment: ["ELICENCE_KEY_PASSPHRASE": "wrong"])
        #expect(wrong.status == 2 && wrong.stderr.contains("passphrase is wrong"))
        #expect(try cli.run(["sign", file, "--keys", cli.keys], environment: env).status == 0)
        let passFile = try cli.dir.write("pass.txt", "闽 correct horse\n", mode: 0o600)
        let fromFile = try cli.run(["sign", file, "--keys", cli.keys, "--passphrase-file", passFile])
        #expect(fromFile.status == 0, "\(fromFile)")
        // A passphrase is never accepted as an argument.
        #expect(try cli.run(["sign", file, "--keys", cli.keys, "--passphrase", "x"]).status == 2)
    }
}

struct SignVerifyTests {
    @Test(arguments: ["sm2", "es256", "ed25519"])
    func signedLicencesVerify(_ alg: String) throws {
        let cli = CLI()
        _ = try cli.generateKey(alg)
        let token = try cli.sign()
        #expect(token.hasPrefix("EL1:"))

        let readable = try cli.run(["verify", token, "--keys", cli.keys])
        #expect(readable.status == 0, "\(readable)")
        #expect(readable.stdout.contains("VALID 有效"))
        #expect(readable.stdout.contains("福州某某科技有限公司") && readable.stdout.contains("注册资本"))
        #expect(readable.stdout.contains("Status not checked"))

        let (status, report) = try cli.verifyJSON(token)
        #expect(status == 0)
        #expect(report["valid"] as? Bool == true)
        #expect(report["outcome"] as? String == "valid")
        #expect(report["statusChecked"] as? Bool == false)
        let licence = report["licence"] as? [String: Any]
        #expect((licence?["holder"] as? [String: String])?["name"] == "福州某某科技有限公司")
        #expect((licence?["id"] as? String)?.hasPrefix("1.2.156.3005.2.11100000000013338W011.11350000003591037R.2026") == true)
        #expect(report["alg"] as? String == ["sm2": "SM2", "es256": "ES256", "ed25519": "EdDSA"][alg])

        // From a file and from standard input.
        let tokenFile = try cli.dir.write("token.txt", token + "\n")
        #expect(try cli.run(["verify", "@" + tokenFile, "--keys", cli.keys]).status == 0)
        #expect(try cli.run(["verify", "-", "--keys", cli.keys], stdin: token + "\n").status == 0)

        // Requiring a status check turns "not checked" into not valid.
        let (required, requiredReport) = try cli.verifyJSON(token, extra: ["--require-status"])
        #expect(required == 1)
        #expect(requiredReport["outcome"] as? String == "status_unavailable")
    }

    @Test func signJSONOutputAndDefaults() throws {
        let cli = CLI()
        _ = try cli.generateKey("ed25519")
        let file = try cli.dir.write("licence.json", CLI.drivingLicence)
        let result = try cli.run(["sign", file, "--keys", cli.keys, "--json"])
        #expect(result.status == 0, "\(result)")
        let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(output?["version"] as? Int == 1)
        #expect(output?["status"] == nil)  // no registry, so no status to report
        #expect(output?["validUntil"] is NSNull)
        #expect((output?["issuer"] as? [String: String])?["code"] == CLI.issuerCode)  // from the key
        #expect((output?["holder"] as? [String: String])?["code"] == "110105********002X")
        let token = try #require(output?["token"] as? String)
        let (status, report) = try cli.verifyJSON(token)
        #expect(status == 0)
        #expect(((report["licence"] as? [String: Any])?["holder"] as? [String: String])?["code"] == "110105********002X")
    }

    @Test func compromisedKeysInvalidateTheirLicencesRetiredKeysDoNot() throws {
        let cli = CLI()
        let kid = try cli.generateKey("es256")
        let token = try cli.sign()
        #expect(try cli.run(["keys", "retire", kid, "--keys", cli.keys]).status == 0)
        #expect(try cli.verifyJSON(token).status == 0)
        // A retired key signs nothing new.
        let file = try cli.dir.write("licence.json", CLI.businessLicence)
        let refused = try cli.run(["sign", file, "--keys", cli.keys])
        #expect(refused.status == 2 && refused.stderr.contains("no active issuer key"))

        #expect(try cli.run(["keys", "compromise", kid, "--keys", cli.keys]).status == 0)
        let (status, report) = try cli.verifyJSON(token)
        #expect(status == 1)
        #expect(report["outcome"] as? String == "key_compromised")
        #expect((report["message"] as? [String: String])?["zh"]?.contains("泄露") == true)
    }

    @Test func tokensFromAnotherKeyDirectoryAreUnknown() throws {
        let issuing = CLI()
        _ = try issuing.generateKey("sm2")
        let token = try issuing.sign()
        let verifying = CLI()
        _ = try verifying.generateKey("sm2")
        let result = try verifying.run(["verify", token, "--keys", verifying.keys])
        #expect(result.status == 1)
        #expect(result.stdout.contains("unknown_key"))
    }

    @Test func alteredAndMalformedTokensAreNotValidAndSayWhy() throws {
        let cli = CLI()
        _ = try cli.generateKey("sm2")
        let token = try cli.sign()
        var decoded = try LicenceToken.decode(token)
        var claims = decoded.claims
        claims.fields["注册资本"] = "1亿元人民币"
        decoded.sign1.payload = claims.encoded
        let altered = LicenceToken.encode(sign1: decoded.sign1)
        // base45 comes in groups of 3 characters (2 at the end); a body of 3n+1 cannot be read.
        // Space is a base45 character but also trimmed from the ends of a token, so the cut must not
        // end in one.
        let body = token.dropFirst(4)
        var cut = body.count - (body.count % 3 == 1 ? 0 : body.count % 3 == 2 ? 1 : 2)
        while body.prefix(cut).last == " " { cut -= 3 }
        let dangling = "EL1:" + body.prefix(cut)
        let cases: [(String, String, String?)] = [
            (altered, "bad_signature", nil),
            ("HC1:" + token.dropFirst(4), "malformed", "prefix"),
            (dangling, "malformed", "base45"),
            ("EL1:ABCDEF", "malformed", "zlib"),
            ("EL1:" + String(repeating: "A", count: 20_000), "malformed", "prefix"),
        ]
        for (text, outcome, layer) in cases {
            let (status, report) = try cli.verifyJSON(text)
            #expect(status == 1, "\(outcome)")
            #expect(report["valid"] as? Bool == false)
            #expect(report["outcome"] as? String == outcome)
            #expect(report["layer"] as? String == layer)
        }
        let readable = try cli.run(["verify", "EL1:ABCDEF", "--keys", cli.keys])
        #expect(readable.status == 1)
        #expect(readable.stdout.contains("NOT VALID") && readable.stdout.contains("zlib"))
        #expect(readable.stderr.isEmpty)
    }
}

/// Bad input: exit code 2 and a message naming the problem; never a crash or a stack trace.
struct BadInputTests {
    static let cases: [(name: String, licence: String?, arguments: [String], message: String)] = [
        ("JSON syntax", "{\"type\": ", [], "not valid JSON"),
        ("wrong JSON type", CLI.businessLicence.replacingOccurrences(of: "\"91350100MA2Y01111F\"", with: "91350100"),
         [], "holder.code"),
        ("wrong check character", CLI.businessLicence.replacingOccurrences(of: "91350100MA2Y01111F", with: "91350100MA2Y01111A"),
         [], "holder.code: 统一社会信用代码 91350100MA2Y01111A has check character A; expected F"),
        ("bad date", CLI.businessLicence.replacingOccurrences(of: "2046-01-14", with: "2046-02-30"), [], "validUntil"),
        ("missing field", CLI.businessLicence.replacingOccurrences(of: "\"number\": \"闽市监2026第000123号\",", with: ""),
         [], "number: is missing"),
        ("other issuer", CLI.businessLicence.replacingOccurrences(of: "11350000003591037R", with: "11430000006122244L"),
         [], "no active issuer key of issuer 11430000006122244L"),
        ("unknown algorithm", CLI.businessLicence, ["--alg", "rsa"], "--alg"),
        ("undisclosable field", CLI.businessLicence, ["--disclose", "经营范围"], "no field \"经营范围\""),
    ]

    @Test(arguments: cases.indices)
    func signRefusesBadInput(_ index: Int) throws {
        let testCase = Self.cases[index]
        let cli = CLI()
        _ = try cli.generateKey("ed25519")
        let file = try cli.dir.write("licence.json", testCase.licence ?? "")
        let result = try cli.run(["sign", file, "--keys", cli.keys] + testCase.arguments)
        #expect(result.status == 2, "\(testCase.name): \(result)")
        #expect(result.stderr.contains(testCase.message), "\(testCase.name): \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
    }

    @Test func otherCommandsRefuseBadInput() throws {
        let cli = CLI()
        let checks: [([String], String)] = [
            (["sign", cli.dir.file("missing.json"), "--keys", cli.keys], "missing.json"),
            (["verify", "EL1:X", "--keys", cli.dir.file("nowhere")], "no trust list"),
            (["verify", "@" + cli.dir.file("missing.txt"), "--keys", cli.keys], "missing.txt"),
            (["keys", "generate", "--issuer-code", "11350000003591037A", "--issuer-name", "x", "--keys", cli.keys],
             "expected R"),
            (["keys", "generate", "--alg", "rsa", "--issuer-code", CLI.issuerCode, "--issuer-name", "x"], "--alg"),
            (["keys", "generate", "--issuer-code", CLI.issuerCode, "--issuer-name", "x", "--valid-years", "0"], "--valid-years"),
            (["keys", "generate", "--issuer-code", CLI.issuerCode], "--issuer-name"),
            (["keys", "generate", "--issuer-code", CLI.issuerCode, "--issuer-name", "x", "--keys", cli.keys,
              "--passphrase-file", cli.dir.file("none")], "--passphrase-file"),
            (["frobnicate"], "frobnicate"),
            (["list", "--database", cli.dir.file("typo.sqlite")], "no registry at"),
            (["show", "1.2.156.3005.2.x", "--database", cli.dir.path], "ID: \"1.2.156.3005.2.x\" has 1 parts"),
            (["show", try LicenceIdentifier(typeCode: "11100000000013338W011", issuerCode: CLI.issuerCode,
                                            serial: "20269999999999999999", version: 1).description, "--database", cli.dir.path],
             "cannot open the registry"),
        ]
        _ = try cli.generateKey("sm2")
        try cli.dir.write("broken/trust-list.json", "{\"version\": 1, \"keys\": [{\"kid\": 5}]}")
        for (arguments, message) in checks + [(["verify", "EL1:X", "--keys", cli.dir.file("broken")], "keys[0].kid")] {
            let result = try cli.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: cli.dir.file("typo.sqlite")))
        // Nothing was half-written by the refused key generation.
        let listed = try cli.run(["keys", "list", "--keys", cli.keys, "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any])?.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.keys + "/private").count == 1)
    }

    @Test func helpAndVersionExitZero() throws {
        let cli = CLI()
        let help = try cli.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("keys") && help.stdout.contains("verify"))
        #expect(try cli.run(["verify", "--help"]).status == 0)
        #expect(try cli.run(["--version"]).status == 0)
    }
}
