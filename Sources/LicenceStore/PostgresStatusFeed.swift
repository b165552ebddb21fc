import Foundation
import LicenceCore
import PostgresNIO

/// The PostgreSQL feed: positions are `status_event` sequence numbers, handed out in commit order
/// (see ``PostgresRegistry``), and the change counter moves when
///
/// - a notification on `elicence_changes` arrives on the registry's `LISTEN` connection (another
///   server or a command line committed something);
/// - this process committed through the same registry (so its own writes are seen at once);
/// - the `LISTEN` connection came back after a break: the next read catches up on everything after
///   the last position seen, so a notification missed meanwhile cannot leave the server stale.
///
/// While the `LISTEN` connection is down, the counter moves at every call: every answer then reads the
/// changes itself, and if the database cannot be read either, the answer is `status_unavailable`.
/// Reads give up after a few seconds, so that a database that is down makes answers unavailable,
/// not slow.
final class PostgresStatusFeed: StatusFeed {
    private let registry: PostgresRegistry
    /// Seconds a read may take before the answer is given up on.
    static let deadline: Int64 = 3

    init(registry: PostgresRegistry) {
        self.registry = registry
    }

    private var database: PostgresDatabase { registry.database }

    func changeCounter() async throws(RegistryError) -> Int64 {
        registry.listener.counter() &+ registry.localCommits.load(ordering: .sequentiallyConsistent)
    }

    func position() async throws(RegistryError) -> Int64 {
        try await database.withSession { session in
            try await session.scalar("SELECT COALESCE(MAX(seq), 0) FROM status_event", as: Int64.self) ?? 0
        }
    }

    func lists() async throws(RegistryError) -> [StatusListInfo] {
        try await database.withSession { session in
            try await session.rows("SELECT id, uri, size FROM status_list ORDER BY id").map { row in
                let (id, uri, size) = try row.decode((Int64, String, Int64).self)
                return StatusListInfo(number: id, uri: uri, size: Int(size))
            }
        }
    }

    /// In identifier order, an index walk on the primary key: a page of a registry of millions costs
    /// the same as the first.
    func slots(from start: String?, limit: Int) async throws(RegistryError) -> SlotPage {
        try await database.withSession { session in
            let rows = try await session.rows("""
                SELECT id, status_list, status_index, status, log_index FROM licence WHERE id > \(start ?? "") ORDER BY id LIMIT \(Int64(limit))
                """)
            var slots: [SlotStatus] = []
            slots.reserveCapacity(rows.count)
            for row in rows {
                let (id, list, index, status, logIndex) = try row.decode((String, Int64, Int64, String, Int64?).self)
                slots.append(SlotStatus(list: list, index: Int(index), status: LicenceStatus(rawValue: status) ?? .revoked, licenceID: id,
                                        logIndex: logIndex))
            }
            return SlotPage(slots: slots, next: rows.count < limit ? nil : slots.last?.licenceID)
        }
    }

    /// The events after `position`, in pages of 1,000, each licence looked up by its key: small pages
    /// and `LIMIT 1` keep the plan an index walk whatever the table statistics say. (Right after a bulk
    /// load they are stale, and a plan that scanned every event and licence would delay every
    /// server's answers.) A list's URI and size never change once it exists, so reading them
    /// afterwards needs no common snapshot.
    func changes(after position: Int64) async throws(RegistryError) -> StatusChanges {
        let database = self.database
        return try await database.withDeadline(seconds: Self.deadline) { () async throws(RegistryError) -> StatusChanges in
            try await database.withSession { session in
                var changes = StatusChanges(lists: [], slots: [], position: position)
                var listsSeen = Set<Int64>()
                while true {
                    let rows = try await session.rows("""
                        SELECT e.seq, l.status_list, l.status_index, l.status, l.id, l.log_index
                        FROM (SELECT seq, licence_id FROM status_event WHERE seq > \(changes.position) ORDER BY seq LIMIT 1000) e
                        CROSS JOIN LATERAL (
                            SELECT status_list, status_index, status, id, log_index FROM licence WHERE id = e.licence_id LIMIT 1
                        ) l
                        ORDER BY e.seq
                        """)
                    for row in rows {
                        let (seq, list, index, status, id, logIndex) = try row.decode((Int64, Int64, Int64, String, String, Int64?).self)
                        changes.position = seq
                        listsSeen.insert(list)
                        changes.slots.append(SlotStatus(list: list, index: Int(index),
                                                        status: LicenceStatus(rawValue: status) ?? .revoked, licenceID: id,
                                                        logIndex: logIndex))
                    }
                    if rows.count < 1000 { break }
                }
                if !listsSeen.isEmpty {
                    for row in try await session.rows("SELECT id, uri, size FROM status_list WHERE id = ANY(\(Array(listsSeen)))") {
                        let (id, uri, size) = try row.decode((Int64, String, Int64).self)
                        changes.lists.append(StatusListInfo(number: id, uri: uri, size: Int(size)))
                    }
                }
                return changes
            }
        }
    }
}
