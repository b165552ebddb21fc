import Foundation
import LicenceCore
import Synchronization
import TestSupport
import Testing

/// Several real `elicence serve` processes on one PostgreSQL database, changed through the command
/// line. Timing-sensitive: `Tools/test` runs these suites on their own, after the others.
@Suite(.serialized) struct MultiServerTimingTests {
    /// What the design promises: every server reports a change within 1 second of its acknowledgement.
    static let propagationLimit = 1.0

    /// A registry on PostgreSQL with a few licences and an agency, and `count` servers on it.
    struct Cluster {
        let registry: RegistryCLI
        var servers: [ServerProcess]
        var licences: [(id: String, token: String)] = []
        let agencyKey: String
        var serverArguments: [String] { registry.db + registry.keys + ["--anonymous-rate", "0", "--log-level", "warning"] }

        init(servers count: Int) throws {
            registry = try RegistryCLI(alg: "es256", backend: .postgres)
            for index in 0..<4 { licences.append(try registry.issue(number: "闽市监2026第00090\(index)号")) }
            let added = try registry.expectSuccess(["agencies", "add", "--code", "11350100MB0000456D", "--name", "福州市行政服务中心"]
                                                   + registry.db)
            agencyKey = try #require(added.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("elk_") }.map(String.init),
                                     "\(added)")
            servers = []
            let arguments = serverArguments
            for _ in 0..<count { servers.append(try ServerProcess(arguments)) }
        }

        func outcome(_ token: String, on server: ServerProcess) throws -> String {
            let answer = try server.request("POST", "/v1/verify", json: ["token": token])
            return answer.json["outcome"] as? String ?? "HTTP \(answer.status)"
        }

        /// Runs `command` and returns how long after it returned every server reported `outcome` (nil: not
        /// within 5 s). Each server is asked on a thread of its own, again and again, so that the figure
        /// is one request's time after the server has the change, not the sum of all of them.
        func propagation(of command: [String], token: String, outcome: String) throws -> Double? {
            try registry.expectSuccess(command + registry.db)
            let acknowledged = Date()
            let seen = Mutex([Double?](repeating: nil, count: servers.count))
            let servers = self.servers
            DispatchQueue.concurrentPerform(iterations: servers.count) { index in
                while Date().timeIntervalSince(acknowledged) < 5 {
                    if (try? self.outcome(token, on: servers[index])) == outcome {
                        let seconds = Date().timeIntervalSince(acknowledged)
                        seen.withLock { $0[index] = seconds }
                        return
                    }
                }
            }
            let times = seen.withLock { $0 }
            return times.contains(nil) ? nil : times.compactMap { $0 }.max()
        }
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func statusChangesReachEveryServerWithinOneSecond(_ backend: Backend) throws {
        var cluster = try Cluster(servers: 3)
        let (id, token) = cluster.licences[0]
        for server in cluster.servers { #expect(try cluster.outcome(token, on: server) == "valid") }

        var worst = 0.0
        func check(_ command: String, _ licence: (id: String, token: String), _ outcome: String) throws {
            let seconds = try cluster.propagation(of: [command, licence.id, "--reason", "测试 \(command)"], token: licence.token,
                                                  outcome: outcome)
            #expect(seconds != nil && seconds! <= Self.propagationLimit, "\(command): \(seconds.map { "\($0) s" } ?? "never")")
            print("\(command) reported by every server after \(String(format: "%.3f", seconds ?? .infinity)) s")
            worst = max(worst, seconds ?? .infinity)
        }
        try check("suspend", (id, token), "suspended")
        try check("reinstate", (id, token), "valid")

        // One server is restarted in the middle: while it is down a change is made; back up, it reports
        // that change, and the next ones like the others.
        #expect(cluster.servers[1].terminate() == 0)
        try cluster.registry.expectSuccess(["suspend", cluster.licences[1].id, "--reason", "停机期间"] + cluster.registry.db)
        cluster.servers[1] = try ServerProcess(cluster.serverArguments)
        #expect(try cluster.outcome(cluster.licences[1].token, on: cluster.servers[1]) == "suspended")
        try check("revoke", (id, token), "revoked")

        // The LISTEN connections are cut: a change made before they are back is still reported in time
        // (each server reads the changes itself until it listens again, then catches up).
        try cluster.registry.database.psql("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'elicence-listen'
            """)
        try check("reinstate", cluster.licences[1], "valid")
        try check("revoke", cluster.licences[2], "revoked")

        // A licence issued after the servers started is known to all of them.
        let fresh = try cluster.registry.issue(number: "闽市监2026第000999号")
        #expect(try eventually(within: Self.propagationLimit) {
            try cluster.servers.allSatisfy { try cluster.outcome(fresh.token, on: $0) == "valid" }
        })
        print("status change propagation to 3 servers, worst case: \(String(format: "%.3f", worst)) s")
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func agenciesAndUsageRecordsAreSharedByEveryServer(_ backend: Backend) throws {
        let cluster = try Cluster(servers: 2)
        let (id, token) = cluster.licences[3]
        let auth = ["Authorization": "Bearer \(cluster.agencyKey)", "X-Use-Cause": "%E4%BC%81%E4%B8%9A%E5%BC%80%E5%8A%9E"]
        for server in cluster.servers {
            let read = try server.request("GET", "/v1/licences/\(id)", headers: auth)
            #expect(read.status == 200 && (read.json["licence"] as? [String: Any])?["id"] as? String == id, "\(read)")
            let verified = try server.request("POST", "/v1/verify", json: ["token": token], headers: auth)
            #expect(verified.json["outcome"] as? String == "valid")
        }
        // Usage records written by both servers (once a second) reach the registry: a verification and
        // a read from each, with their cause.
        var records: [[String: Any]] = []
        #expect(try eventually(within: 5) {
            let printed = try cluster.registry.expectSuccess(["usage", "--licence", id, "--json"] + cluster.registry.db)
            records = try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [[String: Any]] ?? []
            return records.count == 4
        }, "\(records)")
        #expect(records.allSatisfy { $0["cause"] as? String == "企业开办" && $0["agency"] as? String == "11350100MB0000456D" })
        let usage = try cluster.servers[1].request("GET", "/v1/licences/\(id)/usage", headers: auth)
        #expect((usage.json["records"] as? [[String: Any]])?.count ?? 0 >= 4, "\(usage)")

        // An agency revoked with the command line is refused by every server within a second.
        try cluster.registry.expectSuccess(["agencies", "revoke", "11350100MB0000456D"] + cluster.registry.db)
        #expect(try eventually(within: Self.propagationLimit) {
            try cluster.servers.allSatisfy { try $0.request("GET", "/v1/licences/\(id)", headers: auth).status == 401 }
        })
    }
}
