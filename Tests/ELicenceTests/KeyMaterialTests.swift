import Foundation
import LicenceCore
import TestSupport
import Testing

/// Private keys and their passphrase never appear in anything the programs print: a whole session —
/// keys made with a passphrase, licences issued and revoked, a server at trace level answering
/// every route, wrong passphrases and a compromised key — is searched for them.
struct KeyMaterialTests {
    static let passphrase = "福州-key-passphrase-7741"

    @Test func privateKeysNeverReachLogsOrMessages() throws {
        let registry = try RegistryCLI()
        let (id, token) = try registry.issue()
        let environment = ["ELICENCE_KEY_PASSPHRASE": Self.passphrase]
        _ = try registry.cli.generateKey("ed25519", environment: environment)
        _ = try registry.cli.generateKey("es256", environment: environment)
        var printed: [String] = []
        func record(_ result: ProcessResult) { printed += [result.stdout, result.stderr] }

        // At rest: the keys made with a passphrase are encrypted, and every key file is 0600.
        let privateDirectory = registry.cli.keys + "/private"
        let files = try FileManager.default.contentsOfDirectory(atPath: privateDirectory).map { privateDirectory + "/" + $0 }
        #expect(files.count == 4)
        let pems = try files.map { try String(contentsOfFile: $0, encoding: .utf8) }
        #expect(pems.filter { $0.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----") }.count == 2)
        for file in files {
            let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) ?? 0
            #expect(mode & 0o077 == 0, "\(file) has mode \(String(mode, radix: 8))")
        }

        // A session: sign with and without the passphrase, revoke, serve at trace level.
        record(try registry.cli.run(["sign", try registry.cli.dir.write("l.json", CLI.businessLicence), "--keys", registry.cli.keys,
                                     "--alg", "ed25519"], environment: environment))
        let wrong = try registry.cli.run(["sign", registry.cli.dir.file("l.json"), "--keys", registry.cli.keys, "--alg", "ed25519"],
                                         environment: ["ELICENCE_KEY_PASSPHRASE": "wrong passphrase"])
        #expect(wrong.status != 0)
        record(wrong)
        record(try registry.cli.run(["sign", registry.cli.dir.file("l.json"), "--keys", registry.cli.keys, "--alg", "es256"]))
        let server = try ServerProcess(registry.db + ["--keys", registry.cli.keys, "--log-level", "trace"],
                                       directory: registry.cli.dir, environment: environment)
        let added = try registry.cli.run(["agencies", "add", "--code", "11350100MB0000456D", "--name", "某部门"] + registry.db)
        record(added)
        let key = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("API key") }?.split(separator: " ").last)
        let auth = ["Authorization": "Bearer \(key)"]
        for (method, path, body) in [("POST", "/v1/verify", ["token": token]), ("POST", "/v1/verify", ["token": "EL1:bad"]),
                                     ("POST", "/v1/verify/batch", ["tokens": [token]]), ("GET", "/v1/licences/\(id)", nil),
                                     ("GET", "/v1/licences/\(id)/usage", nil), ("GET", "/v1/trust-list", nil),
                                     ("GET", "/v1/status-lists/0", nil), ("GET", "/metrics", nil), ("GET", "/readyz", nil)] as [(String, String, Any?)] {
            let answer = try server.request(method, path, json: body, headers: auth)
            #expect(answer.status == 200, "\(path): \(answer)")
            printed.append(answer.text)
        }
        record(try registry.cli.run(["revoke", id, "--reason", "测试"] + registry.db))
        record(try registry.cli.run(["keys", "list", "--keys", registry.cli.keys]))
        let kid = Hex.encode(try LicenceToken.decode(token).kid)
        record(try registry.cli.run(["keys", "compromise", kid, "--keys", registry.cli.keys]))
        #expect(try server.request("POST", "/v1/verify", json: ["token": token], headers: auth).json["valid"] as? Bool == false)
        #expect(server.terminate() == 0)
        printed.append(server.log())
        #expect(server.log().contains("trace") || server.log().contains("debug") || server.log().contains("info"))

        // What must not appear: the passphrase, and any piece of a private key file (each base64
        // line of the PEM, and the DER in hex).
        let everything = printed.joined(separator: "\n")
        #expect(!everything.contains(Self.passphrase))
        for pem in pems {
            let lines = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count >= 16 }
            #expect(!lines.isEmpty)
            for line in lines { #expect(!everything.contains(line), "a private key line appears in the output") }
            let der = Data(base64Encoded: lines.joined()) ?? Data()
            #expect(der.count > 32)
            #expect(!everything.lowercased().contains(Hex.encode(Array(der.suffix(32)))))
        }
    }
}
