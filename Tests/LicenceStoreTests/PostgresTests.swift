import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceStore

struct PostgresLocationTests {
    @Test func urlsNameUserHostPortAndDatabase() async throws {
        let location = try PostgresLocation(parsing: "postgres://elicence@db.example.gov.cn:6432/registry")
        #expect(location == PostgresLocation(user: "elicence", host: "db.example.gov.cn", port: 6432, database: "registry"))
        #expect(location.description == "postgres://elicence@db.example.gov.cn:6432/registry")
        let defaults = try PostgresLocation(parsing: "postgresql://app@10.0.0.5/licences?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(defaults.port == 5432 && defaults.tls == .verifyFull && defaults.rootCertificate == "/etc/ca.pem")
        let ipv6 = try PostgresLocation(parsing: "postgres://app@[::1]:5433/r")
        #expect(ipv6.host == "::1" && ipv6.description == "postgres://app@[::1]:5433/r")
        guard case .postgres(let parsed) = try RegistryLocation(parsing: "postgres://app@h/r") else {
            Issue.record("a postgres:// URL is PostgreSQL")
            return
        }
        #expect(parsed.database == "r")
        #expect(try RegistryLocation(parsing: "./data/elicence.sqlite") == .sqlite(path: "./data/elicence.sqlite"))
    }

    @Test(arguments: [
        ("postgres://app:s3cret@h/r", "must not contain the password"),
        ("postgres://h:5432/r", "user name is missing"),
        ("postgres://app@h:5432/", "database name is missing"),
        ("postgres://app@h:99999/r", "port"),
        ("postgres://app@h/r?sslmode=sometimes", "sslmode must be one of disable, require, verify-full"),
        ("postgres://app@h/r?timeout=3", "unknown parameter timeout"),
        ("postgres://app@h/r?sslrootcert=/ca.pem", "needs sslmode=verify-full"),
    ])
    func badURLsNameTheProblem(_ url: String, _ message: String) {
        #expect {
            _ = try RegistryLocation(parsing: url)
        } throws: { error in
            let error = error as? RegistryError
            return error?.code == .invalid && error?.message.contains(message) == true && error?.message.contains("s3cret") == false
        }
    }
}

/// Behaviour only PostgreSQL has: migrations, connections, several hosts.
struct PostgresRegistryTests {
    @Test(arguments: Backend.postgresIfAvailable)
    func migrationsAreRecordedAndRunOnceWhateverHowManyHostsStart(_ backend: Backend) async throws {
        let database = try TestDatabase(backend)
        let location = try RegistryLocation(parsing: database.url)
        await #expect {
            _ = try await location.open(password: database.password, create: false)
        } throws: { ($0 as? RegistryError)?.message.contains("no registry in") == true }
        // Three hosts open a new database at once; one migrates, the others wait and find it done.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask { _ = try await location.open(password: database.password, create: true) }
            }
            try await group.waitForAll()
        }
        #expect(try database.psql("SELECT version, name FROM schema_migrations ORDER BY version")
                    == "1|registry\n2|settings\n3|transparency log\n4|holders' wallets and service windows\n5|usage of other authorities' licences\n6|compact usage records\n7|holder names by index\n8|usage records in batches")
        _ = try await location.open(password: database.password, create: false)
        // A registry from a newer elicence is refused rather than misread.
        try database.psql("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
        await #expect {
            _ = try await location.open(password: database.password, create: false)
        } throws: { ($0 as? RegistryError)?.message.contains("schema version 99") == true }
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func everySessionCommitsSynchronously(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let registry = try #require(fixture.registry as? PostgresRegistry)
        let setting = try await registry.database.withSession { session in
            try await session.scalar("SHOW synchronous_commit", as: String.self)
        }
        #expect(setting == "on")
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func connectionFailuresAreClearErrors(_ backend: Backend) async throws {
        let database = try TestDatabase(backend)
        let cluster = try #require(PostgresCluster.shared)
        let location = try RegistryLocation(parsing: database.url)
        if cluster.password != nil {
            await #expect {
                _ = try await location.open(password: "wrong", create: true)
            } throws: { error in
                let message = (error as? RegistryError)?.message ?? ""
                return message.contains("password authentication failed") && message.contains("ELICENCE_DATABASE_PASSWORD")
            }
            await #expect {
                _ = try await location.open(password: nil, create: true)
            } throws: { ($0 as? RegistryError)?.message.contains("asks for a password") == true }
        }
        await #expect {
            _ = try await RegistryLocation(parsing: cluster.base + "/no_such_database").open(password: cluster.password, create: true)
        } throws: { ($0 as? RegistryError)?.message.contains("does not exist") == true }
        await #expect {
            _ = try await RegistryLocation(parsing: "postgres://\(cluster.user)@127.0.0.1:\(freePort())/x").open(password: nil, create: true)
        } throws: { error in
            let error = error as? RegistryError
            return error?.code == .invalid && error?.message.contains("cannot be reached") == true
        }
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func brokenConnectionsAreReplaced(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let stored = try await fixture.issueOne(RegistryFixture.licence())
        // The server ends every connection of the registry (a restart, a failover, an idle timeout).
        try fixture.database.psql("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'elicence'
            """)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await fixture.registry.licence(id: stored.id) == stored)
        #expect(try await fixture.registry.changeStatus(id: stored.id, to: .suspended, reason: "r", actor: "a", now: 1).status
            == .suspended)
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func theListenerReconnectsAndCatchesUp(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        var ids: [LicenceIdentifier] = []
        for index in 0..<3 { ids.append(try await fixture.issueOne(RegistryFixture.licence(number: "L\(index)")).id) }
        let registry = try #require(fixture.registry as? PostgresRegistry)
        let mirror = try await FeedMirror(try await registry.makeStatusFeed())
        let other = try await fixture.reopen()
        #expect(registry.listener.connections == 1)

        // The LISTEN connection is cut, and a change is made while it is away: its notification is
        // never delivered to this feed.
        try fixture.database.psql("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'elicence-listen'
            """)
        _ = try await other.changeStatus(id: ids[0], to: .revoked, reason: "r", actor: "a", now: 1)
        #expect(try await eventually(within: 1) {
            try await mirror.refresh()
            return mirror.statuses[ids[0].description] == .revoked
        })
        #expect(await eventually(within: 5) { () async -> Bool in registry.listener.connections == 2 })

        // Listening again: later changes arrive by notification.
        _ = try await other.changeStatus(id: ids[1], to: .suspended, reason: "r", actor: "a", now: 2)
        #expect(try await eventually(within: 1) {
            try await mirror.refresh()
            return mirror.statuses[ids[1].description] == .suspended
        })
        #expect(mirror.statuses[ids[2].description] == .valid)
    }

    @Test(arguments: Backend.postgresIfAvailable)
    func racingIssuersOfTheSameNumberIssueItOnce(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        var registries: [any Registry] = []
        for _ in 0..<4 { registries.append(try await fixture.reopen()) }
        // Every issuer issues the same 50 numbers, each in its own order, in one batch.
        let licences = try (0..<50).map { try RegistryFixture.licence(number: "R\($0)") }
        let outcomes = try await withThrowingTaskGroup(of: [IssueOutcome].self) { group in
            for (index, registry) in registries.enumerated() {
                var order = licences
                order.shuffle()
                if index == 0 { order = licences }
                let batch = order
                group.addTask { Array(try await fixture.issue(batch, into: registry)) }
            }
            var all: [IssueOutcome] = []
            for try await outcomes in group { all += outcomes }
            return all
        }
        let issued = outcomes.filter { if case .issued = $0 { return true } else { return false } }.count
        let unchanged = outcomes.filter { if case .unchanged = $0 { return true } else { return false } }.count
        #expect(issued == 50 && unchanged == 150, "\(outcomes.compactMap(\.failure))")
        let all = try await fixture.registry.licences(LicenceFilter())
        #expect(all.count == 50 && Set(all.map(\.statusIndex)).count == 50)
    }
}
