import Crypto
import Foundation
import GRDB
import LicenceCore
import LicenceLog
import TestSupport
import Testing
@testable import LicenceStore

/// The transparency log as each engine keeps it.
struct TransparencyLogTests {
    /// Every issuance and status change, bulk issuance included, has its leaf, in order, once.
    @Test(arguments: Backend.available)
    func everyChangeIsLoggedInOrder(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let registry = fixture.registry
        let first = try await fixture.issue((0..<300).map { try RegistryFixture.licence(number: "L\($0)") })
        #expect(first.allSatisfy { if case .issued = $0 { return true } else { return false } })
        let revoked = try await fixture.issueOne(RegistryFixture.licence(number: "R"))
        _ = try await registry.changeStatus(id: revoked.id, to: .revoked, reason: "吊销", actor: "a", now: 5)
        let old = try await fixture.issueOne(RegistryFixture.licence(number: "V"))
        let newer = try await fixture.issueOne(RegistryFixture.licence(number: "V", capital: "2元"), newVersion: true)
        // Issuing again the same content writes nothing, to the log neither.
        _ = try await fixture.issue([try RegistryFixture.licence(number: "L0")])

        let size = try await registry.logSize()
        #expect(size == 300 + 2 + 1 + 2)
        let leaves = try await registry.logEntries(0..<size).map { try #require(LogLeaf(decoding: $0)) }
        if case .issuance(let id, let hash, let kid, let iat) = leaves[300] {
            #expect(id == revoked.id.description && hash == Array(SHA256.hash(data: revoked.signedBytes)))
            #expect(kid == RegistryFixture.signer.kid && iat == RegistryFixture.now)
        } else {
            Issue.record("leaf 300 is not the issuance: \(leaves[300])")
        }
        #expect(leaves[301] == .statusChange(identifier: revoked.id.description, status: "revoked", at: 5))
        #expect(leaves[303] == .statusChange(identifier: old.id.description, status: "superseded", at: RegistryFixture.now))
        #expect(leaves[304].identifier == newer.id.description)
        #expect(try await registry.logIndex(of: revoked.id) == 300)
        #expect(try await registry.logIndex(of: newer.id) == 304)

        let summary = try await LogAudit.run(registry)
        #expect(summary.leaves == size && summary.events == size && summary.licences == 303)
        // The stored tree's root, made from the tiles' hashes, is the root of the leaves.
        var compact = CompactRange()
        for data in try await registry.logEntries(0..<size) { compact.append(leafHash: Merkle.leafHash(data)) }
        #expect(try await Merkle.rootHash(size: size, RegistryLogReader(registry)) == compact.root)
    }

    /// Several issuing hosts at once on PostgreSQL: the log follows the commit order, and the audit
    /// finds every licence and status change in it once.
    @Test(arguments: Backend.postgresIfAvailable)
    func hostsAppendingAtOnceKeepOneOrder(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        var hosts: [any Registry] = []
        for _ in 0..<3 { hosts.append(try await fixture.reopen()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (number, host) in hosts.enumerated() {
                group.addTask {
                    for round in 0..<4 {
                        let outcomes = try await fixture.issue((0..<60).map { try RegistryFixture.licence(number: "H\(number)-\(round)-\($0)") },
                                                               into: host)
                        if case .issued(let stored) = outcomes[0] {
                            _ = try await host.changeStatus(id: stored.id, to: .suspended, reason: "r", actor: "h\(number)", now: 9)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let summary = try await LogAudit.run(fixture.registry)
        #expect(summary.licences == 3 * 4 * 60 && summary.leaves == 3 * 4 * 61)
    }

    /// A registry made before the log gets it at migration: every event, in order.
    @Test func aRegistryFromBeforeTheLogIsBackfilled() async throws {
        let directory = TemporaryDirectory("elicence-backfill")
        let path = directory.file("old.sqlite")
        do {
            // The registry as version 2 of the schema left it, with two licences and a revocation.
            let pool = try DatabasePool(path: path)
            try SQLiteSchema.migrator.migrate(pool, upTo: "v2: agency codes")
            try await pool.write { db in
                try db.execute(sql: """
                    INSERT INTO licence_type VALUES ('11100000000013338W011', '营业执照', 'enterprise', 'unconditional', '[]', '[]', NULL, 0);
                    INSERT INTO status_list VALUES (0, 'https://x.example/v1/status-lists/0', 'https://x.example', 262144, 2, x'00', 0);
                    INSERT INTO licence VALUES ('A', '11350000003591037R', 'N1', 1, '11100000000013338W011', '营业执照', 'h',
                        '91350100MA2Y01111F', '001', 'i', '2026-01-01', NULL, NULL, '{}', x'00', x'0102', 'aabbccddeeff0011',
                        'revoked', 0, 1, 100, NULL);
                    INSERT INTO licence VALUES ('B', '11350000003591037R', 'N2', 1, '11100000000013338W011', '营业执照', 'h',
                        '91350100MA2Y01111F', '001', 'i', '2026-01-01', NULL, NULL, '{}', x'00', x'0304', 'aabbccddeeff0011',
                        'valid', 0, 2, 200, NULL);
                    INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES ('A', 'valid', 'issued', 'x', 100);
                    INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES ('B', 'valid', 'issued', 'x', 200);
                    INSERT INTO status_event (licence_id, status, reason, actor, at) VALUES ('A', 'revoked', 'r', 'x', 300);
                    """)
            }
        }
        let registry = try await SQLiteRegistry.open(path: path, create: false)
        let leaves = try await registry.logEntries(0..<3).compactMap(LogLeaf.init(decoding:))
        #expect(leaves == [
            .issuance(identifier: "A", coseHash: Array(SHA256.hash(data: [1, 2])), kid: Hex.decode("aabbccddeeff0011")!, issuedAt: 100),
            .issuance(identifier: "B", coseHash: Array(SHA256.hash(data: [3, 4])), kid: Hex.decode("aabbccddeeff0011")!, issuedAt: 200),
            .statusChange(identifier: "A", status: "revoked", at: 300),
        ])
        #expect(try await LogAudit.run(registry).events == 3)
    }

    /// A changed leaf, a deleted status event, a log rolled back, a log rewritten after a
    /// checkpoint: the audit names each.
    @Test(arguments: Backend.available)
    func tamperingIsFound(_ backend: Backend) async throws {
        for tamper in Tamper.allCases {
            let fixture = try await RegistryFixture(backend)
            let registry = fixture.registry
            var stored: [StoredLicence] = []
            for index in 0..<3 { stored.append(try await fixture.issueOne(RegistryFixture.licence(number: "T\(index)"))) }
            _ = try await registry.changeStatus(id: stored[1].id, to: .revoked, reason: "吊销", actor: "a", now: 7)
            _ = try await registry.changeStatus(id: stored[2].id, to: .suspended, reason: "中止", actor: "a", now: 8)
            let size = try await registry.logSize()
            let root = try await Merkle.rootHash(size: size, RegistryLogReader(registry))
            _ = try await registry.addCheckpoint(StoredCheckpoint(size: size, root: root, note: "o\n\(size)\n", signedAt: 9))
            _ = try await LogAudit.run(registry)

            let sql: String
            switch tamper {
            case .changeLeaf:
                sql = "UPDATE log_entry SET data = (SELECT data FROM log_entry WHERE idx = 0) WHERE idx = 1"
            case .changeLeafAndHash:
                sql = "UPDATE log_entry SET data = (SELECT data FROM log_entry WHERE idx = 0), hash = (SELECT hash FROM log_entry WHERE idx = 0) WHERE idx = 1"
            case .deleteStatusEvent:
                sql = "DELETE FROM status_event WHERE status = 'revoked'"
            case .rollBack:
                sql = "DELETE FROM log_entry WHERE idx >= 3"
            case .fork:
                sql = "UPDATE log_checkpoint SET root = (SELECT hash FROM log_entry WHERE idx = 0)"
            }
            try fixture.database.execute(sql)
            await #expect {
                _ = try await LogAudit.run(registry)
            } throws: { error in
                let message = (error as? LogAudit.Difference)?.description ?? "\(error)"
                let expected = tamper.finding
                #expect(message.contains(expected), "\(tamper): \(message)")
                return message.contains(expected)
            }
        }
    }

    enum Tamper: CaseIterable {
        case changeLeaf, changeLeafAndHash, deleteStatusEvent, rollBack, fork

        var finding: String {
            switch self {
            case .changeLeaf: return "leaf 1: its stored hash is not the hash of its data"
            case .changeLeafAndHash: return "the checkpoint of size 5 has root"
            case .deleteStatusEvent: return "log leaf 3 (revoked of"
            case .rollBack: return "it was rolled back"
            case .fork: return "the log was rewritten after it was signed"
            }
        }
    }
}
