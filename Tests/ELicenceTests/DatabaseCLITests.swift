import Foundation
import LicenceCore
import TestSupport
import Testing

struct DatabaseCLITests {
    /// Two issuers (as on two hosts) run overlapping bulk files at once: every licence is issued once,
    /// with its own identifier and status-list slot, and the runs agree on what the other did.
    @Test(arguments: Backend.available)
    func concurrentBulkIssuersNeverShareAnIdentifierOrSlot(_ backend: Backend) async throws {
        let registry = try RegistryCLI(alg: "es256", backend: backend)
        func csv(_ numbers: Range<Int>) -> String {
            "type,number,holderName,holderCode,holderCodeType,validFrom,validUntil,field:注册资本,field:法定代表人\n"
                + numbers.map { "11100000000013338W011,闽市监2026第\(String(format: "%06d", $0))号,福州某某有限公司,91350100MA2Y01111F,001,2026-02-01,,1万元,张三\n" }
                .joined()
        }
        // 0..<300 and 200..<500: the middle hundred is in both files.
        let files = [try registry.cli.dir.write("a.csv", csv(0..<300)), try registry.cli.dir.write("b.csv", csv(200..<500))]
        let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for file in files {
                let arguments = ["issue", "--batch", file, "--batch-size", "50"] + registry.db + registry.keys
                let cli = registry.cli
                group.addTask { try cli.run(arguments) }
            }
            var results: [ProcessResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        var issued = 0, unchanged = 0
        for result in results {
            #expect(result.status == 0, "\(result)")
            let summary = try #require(result.stdout.firstMatch(of: /issued (\d+), unchanged (\d+), failed 0/), "\(result)")
            issued += Int(summary.1)!
            unchanged += Int(summary.2)!
        }
        #expect(issued == 500 && unchanged == 100)
        let listed = try registry.cli.run(["list", "--json", "--limit", "1000"] + registry.db)
        let licences = listed.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(licences.count == 500)
        #expect(Set(licences.compactMap { $0["id"] as? String }).count == 500)
        #expect(Set(licences.compactMap { $0["number"] as? String }).count == 500)
        let slots = licences.compactMap { ($0["statusList"] as? [String: Any]).map { "\($0["uri"] ?? "")#\($0["index"] ?? "")" } }
        #expect(slots.count == 500 && Set(slots).count == 500)

        // Running both files again issues nothing.
        for file in files {
            let again = try registry.cli.run(["issue", "--batch", file] + registry.db + registry.keys)
            #expect(again.status == 0 && again.stdout.contains("issued 0, unchanged 300, failed 0"), "\(again)")
        }
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func thePasswordComesFromTheEnvironmentOrAFileNeverTheURL(_ backend: Backend) throws {
        let cluster = try #require(PostgresCluster.shared)
        let cli = CLI()
        let database = try TestDatabase(backend, directory: cli.dir)
        let url = database.url
        let add = ["types", "add", "--code", "11100000000013338W011", "--name", "营业执照", "--holder-kind", "enterprise",
                   "--sharing", "unconditional", "--database", url]
        if let password = cluster.password {
            let fromEnvironment = try cli.run(add, environment: ["ELICENCE_DATABASE_PASSWORD": password])
            #expect(fromEnvironment.status == 0, "\(fromEnvironment)")
            let missing = try cli.run(["types", "list", "--database", url])
            #expect(missing.status == 2 && missing.stderr.contains("ELICENCE_DATABASE_PASSWORD"), "\(missing)")
            let wrong = try cli.run(["types", "list", "--database", url], environment: ["ELICENCE_DATABASE_PASSWORD": "wrong"])
            #expect(wrong.status == 2 && wrong.stderr.contains("password authentication failed"), "\(wrong)")
            let inURL = url.replacingOccurrences(of: "\(cluster.user)@", with: "\(cluster.user):\(password)@")
            let refused = try cli.run(["types", "list", "--database", inURL])
            #expect(refused.status == 2 && refused.stderr.contains("must not contain the password"), "\(refused)")
            #expect(!refused.stderr.contains(password))
        } else {
            try #require(try cli.run(add).status == 0)
        }
        let listed = try cli.run(["types", "list"] + database.arguments)
        #expect(listed.status == 0 && listed.stdout.contains("营业执照"), "\(listed)")
        let noFile = try cli.run(["types", "list", "--database", url, "--database-password-file", cli.dir.file("none")])
        #expect(noFile.status == 2 && noFile.stderr.contains("--database-password-file"), "\(noFile)")

        // A database without a registry is not silently filled by a read command.
        let empty = try TestDatabase(backend, directory: cli.dir)
        let read = try cli.run(["list"] + empty.arguments)
        #expect(read.status == 2 && read.stderr.contains("no registry in"), "\(read)")
        #expect(try empty.psql("SELECT to_regclass('schema_migrations') IS NULL") == "t")
        let unreachable = try cli.run(["list", "--database", "postgres://\(cluster.user)@127.0.0.1:\(freePort())/x"])
        #expect(unreachable.status == 2 && unreachable.stderr.contains("cannot be reached"), "\(unreachable)")
    }
}
