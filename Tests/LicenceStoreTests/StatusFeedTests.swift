import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceStore

/// What a server keeps in memory, fed the way the server feeds it.
final class FeedMirror {
    let feed: any StatusFeed
    var statuses: [String: LicenceStatus] = [:]
    var lists: [Int64: String] = [:]
    var position: Int64 = 0
    var counter: Int64 = 0

    /// Loads in pages of `pageSize`, as the server does at start.
    init(_ feed: any StatusFeed, pageSize: Int = 2) async throws {
        self.feed = feed
        counter = try await feed.changeCounter()
        position = try await feed.position()
        for list in try await feed.lists() { lists[list.number] = list.uri }
        var start: String?
        repeat {
            let page = try await feed.slots(from: start, limit: pageSize)
            #expect(page.slots.count <= pageSize)
            for slot in page.slots { statuses[slot.licenceID] = slot.status }
            start = page.next
        } while start != nil
    }

    /// Reads the changes when the counter moved, as the server does before each answer.
    func refresh() async throws {
        let now = try await feed.changeCounter()
        guard now != counter else { return }
        let changes = try await feed.changes(after: position)
        for list in changes.lists { lists[list.number] = list.uri }
        for slot in changes.slots { statuses[slot.licenceID] = slot.status }
        position = changes.position
        counter = now
    }
}

struct StatusFeedTests {
    @Test(arguments: Backend.available)
    func commitsOfOtherProcessesReachTheFeed(_ backend: Backend) async throws {
        let fixture = try await RegistryFixture(backend)
        let first = try await fixture.issueOne(RegistryFixture.licence(number: "F1")).id
        let mirror = try await FeedMirror(try await fixture.registry.makeStatusFeed())
        #expect(mirror.statuses == [first.description: .valid])
        #expect(mirror.lists == [0: "https://licence.example.gov.cn/v1/status-lists/0"])

        // Another registry object, as another process or host has, revokes one licence and issues another.
        let other = try await fixture.reopen()
        _ = try await other.changeStatus(id: first, to: .revoked, reason: "吊销", actor: "a", now: 1)
        guard case .issued(let second) = try await fixture.issue([RegistryFixture.licence(number: "F2")], into: other)[0] else {
            Issue.record("the second licence was not issued")
            return
        }
        let id = second.id
        // Within a second: SQLite sees it at once; PostgreSQL once the notification arrives.
        #expect(try await eventually(within: 1) {
            try await mirror.refresh()
            return mirror.statuses == [first.description: .revoked, id.description: .valid]
        }, "\(mirror.statuses)")

        // A change through the feed's own registry moves the counter before the call returns.
        let before = try await mirror.feed.changeCounter()
        _ = try await fixture.registry.changeStatus(id: id, to: .suspended, reason: "调查", actor: "a", now: 2)
        #expect(try await mirror.feed.changeCounter() != before)
        try await mirror.refresh()
        #expect(mirror.statuses[id.description] == .suspended)

        // A new-version supersession reaches the feed as two slots.
        let third = try await fixture.issueOne(RegistryFixture.licence(number: "F3"))
        let newer = try await fixture.issue([try RegistryFixture.licence(number: "F3", capital: "2元")], newVersion: true)
        try await mirror.refresh()
        #expect(mirror.statuses[third.id.description] == .superseded)
        if case .issued(let stored) = newer[0] { #expect(mirror.statuses[stored.id.description] == .valid) } else {
            Issue.record("the new version was not issued: \(newer)")
        }
    }
}

struct WALIndexWatcherTests {
    /// The watcher's cheap test (the wal-index header) must never hide a commit: every commit,
    /// from a connection in this process or from another process, moves the counter, and nothing
    /// moves it otherwise.
    @Test func everyCommitMovesTheCounterAndNothingElseDoes() async throws {
        let directory = TemporaryDirectory("elicence-wal")
        let path = directory.file("registry.sqlite")
        let registry = try await SQLiteRegistry.open(path: path)
        let watcher = try DataVersionWatcher(path: path)
        #expect(watcher.readsWALIndex)

        var last = try await watcher.value()
        // With nothing committed, the header answers and the pragma does not run.
        let pragmasBefore = watcher.pragmas
        for _ in 0..<100 { #expect(try await watcher.value() == last) }
        #expect(watcher.pragmas == pragmasBefore)
        // Commits of another connection in this process, each seen by the very next read, which
        // alone runs the pragma.
        let other = try await SQLiteRegistry.open(path: path, create: false)
        for round in 0..<300 {
            try await other.recordUsage([UsageRecord(agency: "none", licence: "L\(round)", action: .verify, cause: nil,
                                               outcome: "valid", at: Int64(round))])
            let pragmas = watcher.pragmas
            let now = try await watcher.value()
            #expect(now != last, "commit \(round) went unseen")
            #expect(watcher.pragmas == pragmas + 1)
            last = now
            #expect(try await watcher.value() == last, "the counter moved with no commit after \(round)")
            #expect(watcher.pragmas == pragmas + 1, "the pragma ran with no commit after \(round)")
        }
        // A checkpoint that empties the log makes the next commit start it again, with new salts;
        // commits after it are seen as well.
        let checkpoint = try run("sqlite3", [path, "PRAGMA wal_checkpoint(TRUNCATE);"])
        #expect(checkpoint.status == 0 && checkpoint.stdout.hasPrefix("0|0|0"), "\(checkpoint)")
        #expect((try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) == 0)
        last = try await watcher.value()
        for round in 0..<5 {
            // Another process: the sqlite3 shell.
            let result = try run("sqlite3", [path, "INSERT INTO setting (name, value, updated_at) VALUES ('round-\(round)', 'x', \(round));"])
            #expect(result.status == 0, "\(result.stderr)")
            let now = try await watcher.value()
            #expect(now != last, "the other process's commit \(round) went unseen")
            last = now
        }
        _ = registry
    }

    @Test func aRegistryNotInWALModeIsAskedEveryTime() async throws {
        let directory = TemporaryDirectory("elicence-wal")
        let path = directory.file("plain.sqlite")
        _ = try run("sqlite3", [path, "CREATE TABLE t (x); INSERT INTO t VALUES (1);"])
        let watcher = try DataVersionWatcher(path: path)
        #expect(!watcher.readsWALIndex)
        let before = try await watcher.value()
        _ = try run("sqlite3", [path, "INSERT INTO t VALUES (2);"])
        #expect(try await watcher.value() != before)
    }
}
