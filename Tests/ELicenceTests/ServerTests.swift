import Foundation
import LicenceCore
import TestSupport
import Testing

/// A demo server (`serve --demo` in a directory of its own) and what the demo printed.
struct DemoServer {
    let server: ServerProcess
    let agencyKey: String
    var database: String { server.directory.file("data/demo/registry.sqlite") }
    var keys: String { server.directory.file("data/demo/keys") }
    var auth: [String: String] { ["Authorization": "Bearer \(agencyKey)"] }

    init(_ arguments: [String] = []) throws {
        server = try ServerProcess(["--demo"] + arguments)
        let line = try #require(server.log().split(separator: "\n").first { $0.contains("Demo agency key") })
        agencyKey = String(try #require(line.split(separator: " ").last))
    }

    /// Licences of the demo registry, as `list --json` prints them.
    func licences(_ filter: [String] = []) throws -> [[String: Any]] {
        let result = try run(Paths.elicence, ["list", "--json", "--database", database] + filter)
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func licence(status: String, type: String = "11100000000013338W011") throws -> (id: String, token: String) {
        let record = try #require(try licences(["--status", status, "--type", type]).first)
        return (record["id"] as! String, record["token"] as! String)
    }

    func verify(_ token: String, headers: [String: String] = [:]) throws -> [String: Any] {
        let answer = try server.request("POST", "/v1/verify", json: ["token": token], headers: headers)
        #expect(answer.status == 200, "\(answer)")
        return answer.json
    }

    func cli(_ arguments: [String]) throws -> ProcessResult {
        try run(Paths.elicence, arguments + ["--database", database])
    }
}

/// What needs the real binary: the command line changing what a running server answers, signals,
/// the browser. Routes, their problems and access rules are tested in process (`RouteTests`).
@Suite(.serialized) struct ServerTests {
    /// The demo agency's credit code.
    static let demoAgency = try! HolderCode.completing("11350100MB0000456", kind: .creditCode).value
    /// A well-formed identifier the demo registry does not hold.
    static let absentIdentifier = try! LicenceIdentifier(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                         serial: "20269999999999999999", version: 1)

    @Test func aStatusChangeFromTheCommandLineIsSeenByTheNextVerification() throws {
        let demo = try DemoServer()
        let (id, token) = try demo.licence(status: "valid")
        #expect(try demo.verify(token)["outcome"] as? String == "valid")
        for (command, outcome) in [("suspend", "suspended"), ("reinstate", "valid"), ("revoke", "revoked")] {
            let changed = try demo.cli([command, id, "--reason", "测试 \(command)"])
            #expect(changed.status == 0, "\(changed)")
            #expect(try demo.verify(token)["outcome"] as? String == outcome, "after \(command)")
        }
    }

    @Test func agenciesAndSharingLevels() throws {
        let demo = try DemoServer()
        let (id, token) = try demo.licence(status: "valid")
        #expect(try demo.server.request("POST", "/v1/verify/batch", json: ["tokens": [token]]).status == 401)
        let wrongKey = try demo.server.request("POST", "/v1/verify", json: ["token": token], headers: ["Authorization": "Bearer elk_0"])
        #expect(wrongKey.status == 401 && wrongKey.headers["content-type"] == "application/problem+json")

        let revokedToken = try demo.licence(status: "revoked").token
        let batch = try demo.server.request("POST", "/v1/verify/batch", json: ["tokens": [token, "junk", revokedToken, token]],
                                            headers: demo.auth)
        let outcomes = (batch.json["results"] as? [[String: Any]])?.map { $0["outcome"] as? String }
        #expect(outcomes == ["valid", "malformed", "revoked", "valid"])

        // Unconditional sharing: details. Conditional: details only with a grant. None: valid or not only.
        let business = try demo.server.request("GET", "/v1/licences/\(id)", headers: demo.auth).json
        #expect(business["detailsShared"] as? Bool == true && business["licence"] != nil && business["valid"] as? Bool == true)
        let food = try demo.licence(status: "valid", type: "11100000000013338W021")
        #expect(try demo.server.request("GET", "/v1/licences/\(food.id)", headers: demo.auth).json["detailsShared"] as? Bool == true)
        let driving = try #require(try demo.licences(["--status", "valid"]).first { ($0["typeName"] as? String) == "机动车驾驶证" })
        let drivingRead = try demo.server.request("GET", "/v1/licences/\(driving["id"] as! String)", headers: demo.auth).json
        #expect(drivingRead["detailsShared"] as? Bool == false && drivingRead["licence"] == nil)
        #expect(drivingRead["valid"] as? Bool == true && drivingRead["sharing"] as? String == "none")

        // A new agency without grants sees no conditional details; a revoked one is refused at once.
        let added = try demo.cli(["agencies", "add", "--code", "11350000003591037R", "--name", "福州市市场监督管理局"])
        #expect(added.status == 0, "\(added)")
        let key = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("API key") }?.split(separator: " ").last)
        let other = ["Authorization": "Bearer \(key)"]
        #expect(try demo.server.request("GET", "/v1/licences/\(food.id)", headers: other).json["detailsShared"] as? Bool == false)
        let holder = try demo.server.request("POST", "/v1/holders/licences",
                                             json: ["holderCode": (business["licence"] as! [String: Any])["holder"].map { ($0 as! [String: Any])["code"] as! String }!],
                                             headers: other)
        #expect((holder.json["licences"] as? [Any])?.isEmpty == false, "\(holder)")
        #expect(try demo.cli(["agencies", "revoke", "11350000003591037R"]).status == 0)
        #expect(try demo.server.request("GET", "/v1/licences/\(id)", headers: other).status == 401)
        let listed = try demo.cli(["agencies", "list"])
        #expect(listed.stdout.contains("revoked") && !listed.stdout.contains(String(key)))

        // Bad input to the agency commands.
        for (arguments, message) in [(["agencies", "add", "--code", "11350000003591037A", "--name", "x"], "expected R"),
                                     (["agencies", "add", "--code", "11350000003591037R", "--name", "again"], "already exists"),
                                     (["agencies", "add", "--code", "11430000006122244L", "--name", "x", "--grant", "X1"], "--grant"),
                                     (["agencies", "revoke", "11430000006122244L"], "no agency"),
                                     (["usage"], "exactly one of"), (["stats", "--since", "2026-02-30"], "--since")] {
            let result = try demo.cli(arguments)
            #expect(result.status == 2 && result.stderr.contains(message), "\(arguments): \(result)")
        }
    }

    @Test func forgedTokensAndUnsharedLicencesRevealNothing() throws {
        let demo = try DemoServer(["--anonymous-rate", "2", "--trusted-proxy", "127.0.0.1"])
        let (id, token) = try demo.licence(status: "valid")

        // A token whose payload was altered: not valid, no licence data in the answer, no record for the licence.
        var decoded = try LicenceToken.decode(token)
        var claims = decoded.claims
        claims.holderName = "伪造的公司"
        decoded.sign1.payload = claims.encoded
        let forged = try demo.verify(LicenceToken.encode(sign1: decoded.sign1), headers: demo.auth)
        #expect(forged["outcome"] as? String == "bad_signature" && forged["licence"] == nil)
        let usage = try demo.server.request("GET", "/v1/licences/\(id)/usage", headers: demo.auth)
        #expect((usage.json["records"] as? [Any])?.isEmpty == true, "\(usage)")

        // A citizen's licences of a type that is not shared are counted, never listed.
        let driving = try #require(try demo.licences(["--status", "valid"]).first { ($0["typeName"] as? String) == "机动车驾驶证" })
        let citizen = try #require((driving["holder"] as? [String: Any])?["code"] as? String)
        let lookup = try demo.server.request("POST", "/v1/holders/licences", json: ["holderCode": citizen], headers: demo.auth).json
        #expect((lookup["licences"] as? [Any])?.isEmpty == true && lookup["withheld"] as? Int == 1, "\(lookup)")
        let none = try demo.server.request("POST", "/v1/holders/licences", json: ["holderCode": "91350100MA2Y01111F"], headers: demo.auth)
        #expect((none.json["licences"] as? [Any])?.isEmpty == true && none.json["withheld"] as? Int == 0)

        // Control characters in X-Use-Cause are not stored.
        _ = try demo.verify(token, headers: demo.auth.merging(["X-Use-Cause": "%1B%5B31m%E4%BC%81%E4%B8%9A"]) { a, _ in a })
        let cause = (try demo.server.request("GET", "/v1/licences/\(id)/usage", headers: demo.auth).json["records"] as? [[String: Any]])?
            .compactMap { $0["cause"] as? String }
        #expect(cause == ["[31m企业"])

        // Behind a trusted proxy, each forwarded client has its own allowance.
        let statuses = try ["10.1.1.1", "10.1.1.1", "10.1.1.1", "10.2.2.2"].map {
            try demo.server.request("POST", "/v1/verify", json: ["token": "x"], headers: ["X-Forwarded-For": "192.0.2.9, \($0)"]).status
        }
        #expect(statuses == [200, 200, 429, 200])

        // A licence whose signing key is declared compromised reads as not valid.
        let kid = try #require(try demo.licences().first { ($0["id"] as? String) == id }.flatMap { ($0["token"] as? String) }
            .map { try LicenceToken.decode($0).kid })
        #expect(try run(Paths.elicence, ["keys", "compromise", Hex.encode(kid), "--keys", demo.keys]).status == 0)
        // At once: the very next requests after the command returned.
        let read = try demo.server.request("GET", "/v1/licences/\(id)", headers: demo.auth).json
        #expect(read["valid"] as? Bool == false, "\(read)")
        #expect(try demo.verify(token, headers: demo.auth)["outcome"] as? String == "key_compromised")
    }

    @Test func usageRecordsAreWrittenAndShown() throws {
        let demo = try DemoServer()
        let (id, token) = try demo.licence(status: "valid")
        let cause = ["X-Use-Cause": "%E4%BC%81%E4%B8%9A%E5%BC%80%E5%8A%9E"]  // 企业开办
        _ = try demo.verify(token, headers: demo.auth.merging(cause) { a, _ in a })
        _ = try demo.server.request("GET", "/v1/licences/\(id)", headers: demo.auth.merging(cause) { a, _ in a })
        _ = try demo.verify(token)  // anonymous: no record
        let usage = try demo.server.request("GET", "/v1/licences/\(id)/usage", headers: demo.auth)
        let records = try #require(usage.json["records"] as? [[String: Any]])
        #expect(Set(records.compactMap { $0["action"] as? String }) == ["verify", "read"])
        #expect(records.allSatisfy { $0["cause"] as? String == "企业开办" })

        // The command line reads what the server has written; records are written once a second.
        var printed = try demo.cli(["usage", "--licence", id])
        for _ in 0..<50 where !printed.stdout.contains("企业开办") {
            Thread.sleep(forTimeInterval: 0.1)
            printed = try demo.cli(["usage", "--licence", id])
        }
        #expect(printed.status == 0 && printed.stdout.contains("企业开办") && printed.stdout.contains("verify"))
        let stats = try demo.cli(["stats", "--json"])
        let perType = (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["perType"] as? [[String: Any]]
        #expect(perType?.first?["name"] as? String == "营业执照")

        // Every kind of registry read leaves its record, a holder lookup that finds nothing too.
        _ = try demo.server.request("POST", "/v1/holders/licences", json: ["holderCode": "91350100MA2Y01111F"], headers: demo.auth)
        _ = try demo.server.request("GET", "/v1/licences/\(Self.absentIdentifier)", headers: demo.auth)

        // Records still pending at shutdown are written before the server exits.
        _ = try demo.verify(token, headers: demo.auth)
        #expect(demo.server.terminate() == 0)
        let after = try demo.cli(["usage", "--licence", id, "--json"])
        let count = (try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [Any])?.count
        #expect(count == 4, "\(after)")  // 2 verifications, 1 read, 1 usage read
        let all = try demo.cli(["usage", "--agency", Self.demoAgency, "--json"])
        let actions = ((try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [[String: Any]]) ?? [])
            .map { "\($0["action"] ?? "")/\($0["outcome"] ?? "")" }
        #expect(Set(actions).isSuperset(of: ["verify/valid", "read/details", "read/not_found", "usage_read/details",
                                             "holder_lookup/none_found"]), "\(actions)")
    }

    @Test func operationsEndpoints() throws {
        let demo = try DemoServer()
        _ = try demo.verify(try demo.licence(status: "revoked").token)
        #expect(try demo.server.request("GET", "/readyz").status == 200)
        let metrics = try demo.server.request("GET", "/metrics").text
        #expect(metrics.contains("elicence_verifications_total{outcome=\"revoked\"} 1"))
        // Request metrics by route, method and status: the one /readyz above, counted and timed.
        let readyz = #"{http_route="/readyz",http_request_method="GET",http_response_status_code="200"}"#
        #expect(metrics.contains("hb_requests\(readyz) 1"), "\(metrics)")
        #expect(metrics.contains("http_server_request_duration_count\(readyz) 1"), "\(metrics)")
        #expect(metrics.contains(#"http_server_active_requests{http_request_method="GET"} 1"#), "\(metrics)")

        // The served status list is signed by a key of the served trust list and agrees with the registry.
        let trust = try demo.server.request("GET", "/v1/trust-list")
        let trustFile = try demo.server.directory.write("served/trust-list.json", trust.text)
        let list = try demo.server.request("GET", "/v1/status-lists/0")
        #expect(list.headers["content-type"] == "application/statuslist+cwt")
        let listFile = demo.server.directory.file("served/list.cwt")
        try list.body.write(to: URL(fileURLWithPath: listFile))
        let revoked = try demo.licence(status: "revoked").token
        let offline = try run(Paths.elicence, ["verify", revoked, "--keys", (trustFile as NSString).deletingLastPathComponent,
                                               "--status-list", listFile, "--json"])
        #expect(offline.status == 1 && offline.stdout.contains("\"outcome\":\"revoked\""), "\(offline)")
        #expect(try demo.server.request("GET", "/v1/status-lists/99").status == 404)
        #expect(demo.server.log().contains("hb.request.id="))
    }

    /// `elicence verify --json` and `POST /v1/verify` write a report with one writer: the same
    /// bytes for the same verdict.
    @Test func theCommandLineAndTheServerWriteTheSameReport() throws {
        let demo = try DemoServer()
        let lists = demo.server.directory.file("lists")
        let exported = try run(Paths.elicence, ["status-list", "export", "--out", lists, "--database", demo.database, "--keys", demo.keys])
        #expect(exported.status == 0, "\(exported)")
        for status in ["valid", "revoked", "suspended"] {
            let token = try demo.licence(status: status).token
            let offline = try run(Paths.elicence, ["verify", token, "--keys", demo.keys, "--status-list", lists, "--json"])
            let online = try demo.server.request("POST", "/v1/verify", json: ["token": token])
            // Online answers add what only the registry knows: where the licence stands in the transparency
            // log and, for a revoked or suspended licence, since when; the rest is byte for byte the same.
            var answer = online.text
            for registryOnly in [#","log":\{"index":[0-9]+,"treeSize":[0-9]+\}"#, #","statusSince":"[0-9TZ:-]+""#] {
                if let range = answer.range(of: registryOnly, options: .regularExpression) { answer.replaceSubrange(range, with: "") }
            }
            #expect(answer != online.text, "the online answer names the log")
            #expect(offline.stdout == answer + "\n", "\(status)")
            #expect(online.json["outcome"] as? String == status)
        }
    }

    @Test func theServiceWindowPageInABrowser() throws {
        let demo = try DemoServer()
        let page = try demo.server.request("GET", "/")
        #expect(page.status == 200 && page.text.contains("电子证照核验"))
        #expect(!page.text.contains("http://") && !page.text.contains("https://"), "the page loads nothing from elsewhere")
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "Chromium is not installed; Tools/bootstrap --test installs it")
        func link(_ token: String) -> String {
            "\(demo.server.baseURL)/#token=" + token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        }
        // The links the demo prints, ready to open: the first sample is a valid 营业执照.
        let printed = try #require(demo.server.log().split(separator: "\n").first { $0.contains("Link: ") }?
            .components(separatedBy: "Link: ").last)
        #expect(printed.hasPrefix(demo.server.baseURL + "/#token=EL1%3A"), "\(printed)")
        // A raw token after #token= is taken too (the browser encodes only its spaces); one with a
        // literal "%20" in it would read as a space, so the test takes one without.
        let raw = try #require(try demo.licences(["--status", "valid"]).compactMap { $0["token"] as? String }
            .first { !$0.contains("%20") })
        let cases = [(link(try demo.licence(status: "valid").token), "valid", "有效"), (printed, "valid", "有效"),
                     ("\(demo.server.baseURL)/#token=\(raw)", "valid", "有效"),
                     (link(try demo.licence(status: "revoked").token), "revoked", "吊销"),
                     (link("EL1:GARBAGE"), "malformed", "扫描不完整")]
        for (url, outcome, words) in cases {
            let dom = try run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                        "--user-data-dir=\(demo.server.directory.file("chromium"))",
                                        "--virtual-time-budget=10000", "--dump-dom", url],
                              timeout: 120)
            #expect(dom.stdout.contains("data-outcome=\"\(outcome)\""), "\(url.prefix(80)) \(outcome): \(dom.stdout.suffix(800)) \(dom.stderr.suffix(400))")
            #expect(dom.stdout.contains(words))
        }
    }
}
