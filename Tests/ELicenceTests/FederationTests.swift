import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LicenceCore
import TestSupport
import Testing

/// One province's registry, keys and (once started) server, set up with the command line.
final class Province: @unchecked Sendable {
    // @unchecked: used by the one test that owns it.
    let cli = CLI()
    let name: String
    let authority: (code: String, name: String)
    let agency: (code: String, name: String)
    let holder: String
    let port = freePort()
    var server: ServerProcess?
    var url: String { "http://127.0.0.1:\(port)" }
    var db: [String] { ["--database", cli.dir.file("registry.sqlite")] }
    var keys: [String] { ["--keys", cli.keys] }
    var anchorPEM: String { cli.dir.file("anchor.pem") }

    init(_ name: String, authority: (String, String), agency: (String, String), holder: String, anchorAlg: String,
         publicURL: String? = nil) throws {
        self.name = name
        self.authority = (try HolderCode.completing(authority.0, kind: .creditCode).value, authority.1)
        self.agency = (try HolderCode.completing(agency.0, kind: .creditCode).value, agency.1)
        self.holder = try HolderCode.completing(holder, kind: .creditCode).value
        for (alg, role) in [("es256", "issuer"), ("ed25519", "status")] {
            try expect(["keys", "generate", "--alg", alg, "--role", role, "--issuer-code", self.agency.code, "--issuer-name",
                        self.agency.name] + keys)
        }
        let anchor = try expect(["keys", "generate", "--alg", anchorAlg, "--role", "anchor", "--issuer-code", self.authority.code,
                                 "--issuer-name", self.authority.name, "--json"] + keys)
        let entry = try JSONSerialization.jsonObject(with: Data(anchor.stdout.utf8)) as? [String: Any]
        try cli.dir.write("anchor.pem", try #require(entry?["publicKey"] as? String))
        try expect(["types", "add", "--code", "11100000000013338W011", "--name", "营业执照", "--holder-kind", "enterprise",
                    "--sharing", "unconditional", "--field", "法定代表人", "--disclose", "法定代表人", "--validity-years", "20"] + db)
    }

    @discardableResult
    func expect(_ arguments: [String], status: Int32 = 0) throws -> ProcessResult {
        let result = try cli.run(arguments)
        #expect(result.status == status, "\(name): \(arguments.prefix(3)): \(result)")
        return result
    }

    /// Issues a business licence; the token names its status list under `publicURL` (default: this province's server).
    func issue(_ number: String, publicURL: String? = nil) throws -> (id: String, token: String) {
        let result = try expect(["issue", "--type", "11100000000013338W011", "--holder-code", holder, "--holder-name", agency.name + "某企业",
                                 "--number", number, "--field", "法定代表人=张三", "--public-url", publicURL ?? url, "--json"] + db + keys)
        let record = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (try #require(record?["id"] as? String), try #require(record?["token"] as? String))
    }

    func start() throws {
        server = try ServerProcess(db + keys + ["--anonymous-rate", "0", "--status-list-ttl", "2s", "--status-fetch-timeout", "2s",
                                                "--public-url", url, "--log-level", "debug"],
                                   directory: cli.dir, port: port)
    }

    /// Imports `other`'s signed list from `source` (its server's route by default) and tells this server.
    func importList(of other: Province, as name: String? = nil, source: [String]? = nil) throws {
        try expect(["trust", "import", "--name", name ?? other.name, "--anchor", other.anchorPEM]
                   + (source ?? ["--url", other.url + "/v1/trust-list.cose"]) + keys)
        hangUp()
    }

    func hangUp() {
        if let server { kill(server.processIdentifier, SIGHUP) }
    }

    func verify(_ token: String, headers: [String: String] = [:]) throws -> [String: Any] {
        let answer = try #require(server).request("POST", "/v1/verify", json: ["token": token], headers: headers)
        #expect(answer.status == 200, "\(answer)")
        return answer.json
    }

    func outcome(_ token: String) throws -> String { try verify(token)["outcome"] as? String ?? "?" }
}

/// A stand-in web server (Tools/interop/federation_peer.py) that serves a file or never answers, and
/// logs every path it is asked for.
final class Peer: @unchecked Sendable {
    // @unchecked: used by the one test that owns it.
    let dir = TemporaryDirectory("elicence-peer")
    let port = freePort()
    private let process = Process()
    var url: String { "http://127.0.0.1:\(port)" }

    init() throws {
        try dir.write("mode", "serve")
        _ = try dir.write("body", bytes: [])
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.repositoryRoot + "/Tools/interop/federation_peer.py", String(port), dir.path]
        try process.run()
        #expect(eventually(within: 10) { (try? run("curl", ["-s", "-o", "/dev/null", url + "/ready"]))?.status == 0 })
    }

    deinit {
        // SIGKILL: a test process may hand its children SIGTERM ignored, and a thread of the peer may be hanging on purpose.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func serve(_ bytes: [UInt8]) throws {
        _ = try dir.write("body", bytes: bytes)
        try dir.write("mode", "serve")
    }

    func hang() throws { try dir.write("mode", "hang") }

    var requests: [String] { ((try? dir.read("requests.log")) ?? "").split(separator: "\n").map(String.init) }
}

/// Two real provinces (福建省 and 浙江省), each with its own registry, keys and server, that import each
/// other's signed trust lists and verify each other's licences (跨省互认).
@Suite(.serialized) struct FederationEndToEndTests {
    static func fujian() throws -> Province {
        try Province("fujian", authority: ("11350000MB0001234", "福建省大数据管理局"), agency: ("11350000003591037", "福州市市场监督管理局"),
                     holder: "91350100MA2Y01111", anchorAlg: "sm2")
    }

    static func zhejiang() throws -> Province {
        try Province("zhejiang", authority: ("11330000MB0005678", "浙江省大数据发展管理局"), agency: ("11330100MB0000789", "杭州市市场监督管理局"),
                     holder: "91330100MA2B00001", anchorAlg: "ed25519")
    }

    /// Waits until `condition` holds, the server's log line included in the failure.
    static func waitFor(_ what: String, on province: Province, within seconds: Double = 20, _ condition: () throws -> Bool) throws {
        let held = try eventually(within: seconds, condition)
        #expect(held, "\(province.name): \(what) did not happen: \(province.server?.log(tail: 3000) ?? "")")
    }

    @Test func twoProvincesVerifyEachOther() throws {
        let fujian = try Self.fujian(), zhejiang = try Self.zhejiang()
        let fjValid = try fujian.issue("闽市监2026第100001号")
        let fjRevoked = try fujian.issue("闽市监2026第100002号")
        let zjValid = try zhejiang.issue("浙市监2026第200001号")
        try fujian.start()
        try zhejiang.start()

        // Before any import, the other province's licence is from an unknown key.
        #expect(try zhejiang.outcome(fjValid.token) == "unknown_key")

        // Each imports the other's signed list by URL and tells its server (SIGHUP).
        try fujian.importList(of: zhejiang)
        try zhejiang.importList(of: fujian)
        try Self.waitFor("the import", on: zhejiang) { try zhejiang.outcome(fjValid.token) == "valid" }
        try Self.waitFor("the import", on: fujian) { try fujian.outcome(zjValid.token) == "valid" }
        let atZhejiang = try zhejiang.verify(fjValid.token)
        #expect(atZhejiang["statusChecked"] as? Bool == true)
        let authority = try #require(atZhejiang["authority"] as? [String: Any])
        #expect(authority["name"] as? String == "fujian" && authority["code"] as? String == fujian.authority.code)
        #expect(authority["displayName"] as? String == "福建省大数据管理局")
        #expect((atZhejiang["licence"] as? [String: Any])?["number"] as? String == "闽市监2026第100001号")
        #expect((try fujian.verify(zjValid.token)["authority"] as? [String: Any])?["name"] as? String == "zhejiang")
        // Own licences stay own.
        #expect(try fujian.verify(fjValid.token)["authority"] == nil)
        let listing = try zhejiang.expect(["trust", "list", "--json"] + zhejiang.keys)
        let imported = try #require((try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(imported["name"] as? String == "fujian" && imported["keys"] as? Int == 3 && imported["expired"] as? Bool == false)

        // The window page shows the foreign licence as valid and who vouches for it.
        try Self.windowPage(zhejiang, token: fjValid.token, outcome: "valid", words: ["福建省大数据管理局", "跨省互认"])

        // A revocation in Fujian: Fujian reports it at once; Zhejiang, once the status list's ttl (2 s here) has
        // passed, and never before Fujian.
        #expect(try zhejiang.outcome(fjRevoked.token) == "valid")
        try fujian.expect(["revoke", fjRevoked.id, "--reason", "吊销营业执照"] + fujian.db)
        let revokedAt = Date()
        #expect(try fujian.outcome(fjRevoked.token) == "revoked")
        var seenAtZhejiang: Double?
        while seenAtZhejiang == nil && Date().timeIntervalSince(revokedAt) < 30 {
            let outcome = try zhejiang.outcome(fjRevoked.token)
            #expect(outcome == "valid" || outcome == "revoked", "\(outcome)")
            if outcome == "revoked" { seenAtZhejiang = Date().timeIntervalSince(revokedAt) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let delay = try #require(seenAtZhejiang, "Zhejiang never reported the revocation: \(zhejiang.server!.log(tail: 3000))")
        #expect(delay < 20)  // ttl 2 s, plus the 5 s for which Fujian reuses a signed list, plus a loaded machine
        #expect(try zhejiang.outcome(fjValid.token) == "valid")
        print("federation: a revocation in Fujian reached Zhejiang's answers after \(String(format: "%.1f", delay)) s (ttl 2 s)")

        // Offline at Zhejiang: the CLI with Fujian's status list verifies against the imported keys.
        let list = try fujian.server!.request("GET", "/v1/status-lists/0")
        #expect(list.status == 200)
        try list.body.write(to: URL(fileURLWithPath: zhejiang.cli.dir.file("fujian-0.cwt")))
        for (token, outcome, exit) in [(fjValid.token, "valid", Int32(0)), (fjRevoked.token, "revoked", 1)] {
            let offline = try zhejiang.cli.run(["verify", token, "--status-list", zhejiang.cli.dir.file("fujian-0.cwt"), "--json"] + zhejiang.keys)
            let report = try JSONSerialization.jsonObject(with: Data(offline.stdout.utf8)) as? [String: Any]
            #expect(offline.status == exit && report?["outcome"] as? String == outcome, "\(offline)")
            #expect(report?["statusChecked"] as? Bool == true)
            #expect((report?["authority"] as? [String: Any])?["name"] as? String == "fujian")
        }

        // Usage records and statistics count the foreign licences by authority.
        let added = try zhejiang.expect(["agencies", "add", "--code", try HolderCode.completing("11330100MB0000456", kind: .creditCode).value,
                                         "--name", "杭州市民中心"] + zhejiang.db)
        let agencyKey = try #require(added.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("elk_") }.map(String.init))
        #expect(try zhejiang.verify(fjValid.token, headers: ["Authorization": "Bearer \(agencyKey)"])["valid"] as? Bool == true)
        try Self.waitFor("the usage record", on: zhejiang) {
            let stats = try zhejiang.cli.run(["stats", "--json"] + zhejiang.db)
            let perAuthority = (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["perAuthority"] as? [[String: Any]]
            return perAuthority?.first?["code"] as? String == fujian.authority.code && perAuthority?.first?["count"] as? Int == 1
        }
    }

    @Test func hostileListsAndStatusServersAreRefused() throws {
        let fujian = try Self.fujian(), zhejiang = try Self.zhejiang()
        let peer = try Peer()
        let fjValid = try fujian.issue("闽市监2026第300001号")
        // A token whose status uri lies outside Fujian's status base (on the peer, which logs every request).
        let stray = try fujian.issue("闽市监2026第300002号", publicURL: peer.url + "/stray")
        try fujian.start()
        try zhejiang.start()

        // Zhejiang takes Fujian's list through the peer, which passes on what it is given.
        let first = Array(try fujian.server!.request("GET", "/v1/trust-list.cose").body)
        try peer.serve(first)
        try zhejiang.importList(of: fujian, source: ["--url", peer.url + "/trust-list.cose"])
        try Self.waitFor("the import", on: zhejiang) { try zhejiang.outcome(fjValid.token) == "valid" }
        // A key change in Fujian: the list's sequence grows, and Zhejiang takes the newer list.
        try fujian.expect(["keys", "generate", "--alg", "sm2", "--issuer-code", fujian.agency.code, "--issuer-name", fujian.agency.name] + fujian.keys)
        let second = Array(try fujian.server!.request("GET", "/v1/trust-list.cose").body)
        try peer.serve(second)
        zhejiang.hangUp()
        try Self.waitFor("the newer list", on: zhejiang) { try Self.sequence(at: zhejiang) == 4 }

        var tampered = second
        tampered[tampered.count - 10] ^= 0x01  // in the signature
        let impostor = try Self.zhejiangImpostor(of: fujian)
        let cases: [(String, () throws -> Void, String)] = [
            ("one byte changed", { try peer.serve(tampered) }, "signature"),
            ("a rolled-back sequence", { try peer.serve(first) }, "rollback"),
            ("signed by a key that is not the anchor", { try peer.serve(impostor) }, "not a configured anchor"),
            ("too large", { try peer.serve([UInt8](repeating: 0xd2, count: 2 << 20)) }, "at most"),
            ("a server that never answers", { try peer.hang() }, "did not answer"),
        ]
        for (what, setUp, reason) in cases {
            try setUp()
            let before = zhejiang.server!.log().components(separatedBy: "trust list refused").count
            zhejiang.hangUp()
            try Self.waitFor("the refusal of \(what)", on: zhejiang, within: 30) {
                let log = zhejiang.server!.log()
                return log.components(separatedBy: "trust list refused").count > before && log.suffix(4000).contains(reason)
            }
            // The last good list stays in force.
            #expect(try zhejiang.outcome(fjValid.token) == "valid", "after \(what)")
        }
        let refused = try zhejiang.expect(["trust", "list", "--json"] + zhejiang.keys)
        let row = try #require((try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(row["sequence"] as? Int == 4)
        #expect((row["lastFailure"] as? String)?.contains("did not answer") == true)

        // A uri outside the authority's status base is never fetched.
        let strayAnswer = try zhejiang.verify(stray.token)
        #expect(strayAnswer["outcome"] as? String == "status_unavailable" && strayAnswer["valid"] as? Bool == false)
        #expect(!peer.requests.contains { $0.contains("stray") }, "\(peer.requests)")

        // A status server that never answers: a third authority whose status lists live on the peer.
        let shanghai = try Province("shanghai", authority: ("11310000MB0009876", "上海市大数据中心"),
                                    agency: ("11310100MB0000321", "上海市市场监督管理局"), holder: "91310100MA1K00001", anchorAlg: "es256")
        let shLicence = try shanghai.issue("沪市监2026第000001号", publicURL: peer.url + "/sh")
        try shanghai.expect(["trust", "export", "--out", shanghai.cli.dir.file("list.cose"), "--public-url", peer.url + "/sh"] + shanghai.keys)
        try zhejiang.importList(of: shanghai, source: ["--file", shanghai.cli.dir.file("list.cose")])
        try peer.hang()
        try Self.waitFor("the import of shanghai", on: zhejiang) { try zhejiang.outcome(shLicence.token) != "unknown_key" }
        let started = Date()
        let hung = try zhejiang.verify(shLicence.token)
        #expect(hung["outcome"] as? String == "status_unavailable" && hung["valid"] as? Bool == false, "\(hung)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(peer.requests.contains { $0.hasPrefix("/sh/v1/status-lists/") })
        #expect((hung["authority"] as? [String: Any])?["name"] as? String == "shanghai")
    }

    @Test func theDemoShowsACrossProvinceVerification() throws {
        let fujian = try DemoServer()
        #expect(fujian.server.log().contains("--demo-province zhejiang"))
        let token = try fujian.licence(status: "valid").token
        let zhejiang = try ServerProcess(["--demo", "--demo-province", "zhejiang", "--demo-peer", fujian.server.baseURL],
                                         directory: fujian.server.directory)
        #expect(zhejiang.log().contains("Imported the trust list of 福建省大数据管理局"), "\(zhejiang.log(tail: 2000))")
        let answer = try zhejiang.request("POST", "/v1/verify", json: ["token": token]).json
        #expect(answer["outcome"] as? String == "valid" && answer["statusChecked"] as? Bool == true, "\(answer)")
        #expect((answer["authority"] as? [String: Any])?["name"] as? String == "fujian")
        // Zhejiang's own licences are its own; at Fujian's server they are unknown until imported there.
        let line = try #require(zhejiang.log().split(separator: "\n").first { $0.hasPrefix("  EL1:") })
        let own = String(line.trimmingCharacters(in: .whitespaces))
        #expect(try zhejiang.request("POST", "/v1/verify", json: ["token": own]).json["outcome"] as? String == "valid")
        #expect(try fujian.server.request("POST", "/v1/verify", json: ["token": own]).json["outcome"] as? String == "unknown_key")
    }

    /// The sequence of the first imported list, as `trust list` shows it.
    static func sequence(at province: Province) throws -> Int? {
        let listing = try province.cli.run(["trust", "list", "--json"] + province.keys)
        return ((try? JSONSerialization.jsonObject(with: Data(listing.stdout.utf8))) as? [[String: Any]])?.first?["sequence"] as? Int
    }

    /// A list for Fujian's authority signed by an anchor Zhejiang was never given.
    static func zhejiangImpostor(of fujian: Province) throws -> [UInt8] {
        let forger = CLI()
        let result = try forger.run(["keys", "generate", "--alg", "sm2", "--role", "anchor", "--issuer-code", fujian.authority.code,
                                     "--issuer-name", fujian.authority.name, "--keys", forger.keys])
        #expect(result.status == 0, "\(result)")
        let export = try forger.run(["trust", "export", "--out", forger.dir.file("forged.cose"), "--public-url", fujian.url, "--keys", forger.keys])
        #expect(export.status == 0, "\(export)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: forger.dir.file("forged.cose"))))
    }

    static func windowPage(_ province: Province, token: String, outcome: String, words: [String]) throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "Chromium is not installed; Tools/bootstrap --test installs it")
        let server = try #require(province.server)
        let query = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let dom = try run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                    "--user-data-dir=\(server.directory.file("chromium"))", "--virtual-time-budget=10000",
                                    "--dump-dom", "\(server.baseURL)/#token=\(query)"], timeout: 120)
        #expect(dom.stdout.contains("data-outcome=\"\(outcome)\""), "\(dom.stdout.suffix(800)) \(dom.stderr.suffix(400))")
        for word in words { #expect(dom.stdout.contains(word), "\(word) not on the page") }
    }
}

/// Key periods of use on the command line.
struct KeyPeriodCLITests {
    @Test func notAfterEndsAKeysPeriodAndListShowsIt() throws {
        let cli = CLI()
        let kid = try cli.generateKey("es256", extra: ["--not-after", "2099-12-31"])
        let listed = try cli.run(["keys", "list", "--keys", cli.keys])
        #expect(listed.status == 0 && listed.stdout.contains("FROM") && listed.stdout.contains("2099-12-31T15:59:59Z"), "\(listed)")
        #expect(listed.stdout.contains(kid))
        // A period that has already ended is refused, as is a date that cannot be read.
        #expect(try cli.run(["keys", "generate", "--issuer-code", CLI.issuerCode, "--issuer-name", CLI.issuerName, "--not-after",
                             "2001-01-01", "--keys", cli.keys]).status == 2)
        #expect(try cli.run(["keys", "generate", "--issuer-code", CLI.issuerCode, "--issuer-name", CLI.issuerName, "--not-after",
                             "next year", "--keys", cli.keys]).status == 2)
        // A token signed within the period verifies.
        let token = try cli.sign(alg: "es256")
        #expect(try cli.run(["verify", token, "--keys", cli.keys]).status == 0)
    }
}
