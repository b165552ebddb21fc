import Foundation
import GRDB
import LicenceCore
import LicenceLog

/// Reads and writes of issuance on SQLite; ``IssuePlanner`` decides.
extension SQLiteRegistry {
    func types(codes: [String]) async throws(RegistryError) -> [String: LicenceType] {
        try await read { db in
            var found: [String: LicenceType] = [:]
            for code in codes {
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM licence_type WHERE code = ?", arguments: [code]) {
                    found[code] = try Self.type(from: row)
                }
            }
            return found
        }
    }

    func currentLicences(_ numbers: [LicenceNumber]) async throws(RegistryError) -> [LicenceNumber: CurrentLicence] {
        try await read { db in try Self.currentLicences(numbers, db) }
    }

    static func currentLicences(_ numbers: [LicenceNumber], _ db: Database) throws -> [LicenceNumber: CurrentLicence] {
        let statement = try db.cachedStatement(sql: """
            SELECT id, version, status, content_hash FROM licence WHERE issuer_code = ? AND number = ? AND status != 'superseded'
            """)
        var found: [LicenceNumber: CurrentLicence] = [:]
        for number in numbers {
            guard let row = try Row.fetchOne(statement, arguments: [number.issuer, number.number]) else { continue }
            found[number] = CurrentLicence(id: row["id"], version: row["version"],
                                           status: LicenceStatus(rawValue: row["status"]) ?? .revoked,
                                           contentHash: [UInt8](row["content_hash"] as Data))
        }
        return found
    }

    func storedLicences(ids: [String]) async throws(RegistryError) -> [String: StoredLicence] {
        try await read { db in
            var found: [String: StoredLicence] = [:]
            for id in ids {
                if let stored = try Self.licence(id: id, db) { found[id] = stored }
            }
            return found
        }
    }

    func holderNames(codes: [String], excluding: [String]) async throws(RegistryError) -> [String: [RegisteredHolder]] {
        try await read { db in
            // The code's distinct names, each found by one seek of the index (holder_code, holder_name,
            // issued_at) however many licences the holder has, then each name's first current licence.
            let names = try db.cachedStatement(sql: """
                WITH RECURSIVE names(name) AS (
                    SELECT MIN(holder_name) FROM licence WHERE holder_code = ?1
                    UNION ALL
                    SELECT (SELECT MIN(holder_name) FROM licence WHERE holder_code = ?1 AND holder_name > names.name)
                    FROM names WHERE names.name IS NOT NULL LIMIT \(RegisteredHolder.namesLookedAt))
                SELECT name FROM names WHERE name IS NOT NULL
                """)
            let first = try db.cachedStatement(sql: """
                SELECT number, id, issued_at FROM licence
                WHERE holder_code = ? AND holder_name = ? AND status != 'superseded' AND id NOT IN (SELECT value FROM json_each(?))
                ORDER BY issued_at, id LIMIT 1
                """)
            let excluded = try JSONText.encode(excluding)
            var found: [String: [RegisteredHolder]] = [:]
            for code in codes {
                var holders: [RegisteredHolder] = []
                for name in try String.fetchAll(names, arguments: [code]) {
                    guard let row = try Row.fetchOne(first, arguments: [code, name, excluded]) else { continue }
                    holders.append(RegisteredHolder(name: name, number: row["number"], id: row["id"], issuedAt: row["issued_at"]))
                }
                if !holders.isEmpty { found[code] = RegisteredHolder.firstNamed(holders) }
            }
            return found
        }
    }

    func reserveSlots(count: Int, base: String, now: Int64) async throws(RegistryError) -> [Slot] {
        try await write { db in
            let open = try Row.fetchOne(db, sql: """
                SELECT id, uri, size, used, seed FROM status_list WHERE base_url = ? AND used < size ORDER BY id LIMIT 1
                """, arguments: [base]).map { row in
                StatusListRow(number: row["id"], uri: row["uri"], base: base, size: row["size"], used: row["used"],
                              seed: [UInt8](row["seed"] as Data))
            }
            let next = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), -1) + 1 FROM status_list") ?? 0
            let reservation = SlotReservation(count: count, open: open, nextNumber: next, base: base)
            for list in reservation.created {
                try db.execute(sql: """
                    INSERT INTO status_list (id, uri, base_url, size, used, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [list.number, list.uri, list.base, list.size, list.used, Data(list.seed), now])
            }
            if let open = reservation.openListUsed {
                try db.execute(sql: "UPDATE status_list SET used = ? WHERE id = ?", arguments: [open.used, open.number])
            }
            return reservation.slots
        }
    }

    func write(_ items: [PlannedLicence], kid: String, actor: String, now: Int64) async throws(RegistryError) -> IssueWrite {
        do {
            return .committed(try await write { db in try Self.write(items, kid: kid, actor: actor, now: now, db) })
        } catch where error.takenIdentifiers != nil {
            return .identifiersTaken(error.takenIdentifiers!)
        }
    }

    private static func write(_ items: [PlannedLicence], kid: String, actor: String, now: Int64,
                              _ db: Database) throws -> [ItemWrite] {
        var results = [ItemWrite?](repeating: nil, count: items.count)
        // Old versions give up their number first (only one current licence may hold it), if no one
        // revoked or superseded them since they were read.
        for index in items.indices {
            guard let old = items[index].supersedes else { continue }
            let status = try String.fetchOne(db, sql: "SELECT status FROM licence WHERE id = ?", arguments: [old])
            guard status == LicenceStatus.valid.rawValue || status == LicenceStatus.suspended.rawValue else {
                results[index] = .oldVersionChanged(old)
                continue
            }
            try db.execute(sql: "UPDATE licence SET status = 'superseded', superseded_by = ? WHERE id = ?",
                           arguments: [items[index].identifier.description, old])
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO licence (id, issuer_code, number, version, type_code, type_name, holder_name, holder_code,
                holder_code_type, issuer_name, valid_from, valid_until, related_matter, fields, content_hash, signed, kid,
                status, status_list, status_index, issued_at, log_index, id_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'valid', ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """)
        var taken = Set<String>()
        // The log's leaves follow the status events: an old version's `superseded`, then the issuance.
        let size = try logSize(db)
        var next = size
        var leafIndexes = [Int64?](repeating: nil, count: items.count)
        for index in items.indices where results[index] == nil {
            let item = items[index]
            let licence = item.licence
            let leaf = next + (item.supersedes == nil ? 0 : 1)
            try insert.execute(arguments: [
                item.identifier.description, licence.issuer.code, licence.number, item.identifier.version, licence.typeCode,
                licence.typeName, licence.holder.name, licence.holder.code.value, licence.holder.code.kind.rawValue,
                licence.issuer.name, licence.validFrom.description, licence.validUntil?.description, licence.relatedMatter,
                item.columns.fields, Data(item.contentHash), Data(item.signed), kid, item.slot.list,
                item.slot.index, now, LogRecord.disabled ? nil : leaf, Data(item.columns.idHash),
            ])
            if db.changesCount == 1 {
                results[index] = .written
                leafIndexes[index] = leaf
                next = leaf + 1
                continue
            }
            // Not inserted: its number, or (rarely) its identifier, is taken.
            guard item.supersedes == nil else { throw RegistryError(.storage, "licence \(item.identifier) could not be written") }
            if let holder = try currentLicences([item.number], db)[item.number] {
                results[index] = .numberTaken(holder)
            } else {
                taken.insert(item.identifier.description)
            }
        }
        if !taken.isEmpty { throw RegistryError.identifiersTaken(taken) }  // rolls the transaction back
        var leaves: [LogLeaf] = []
        for index in items.indices where results[index] == .written {
            let item = items[index]
            let leaf = leafIndexes[index]!
            let events = item.statusEvents
            for (offset, event) in events.enumerated() {
                let logIndex = leaf - Int64(events.count - 1 - offset)
                try appendStatusEvent(db, licence: event.licence, status: event.status, reason: event.reason, actor: actor, at: now,
                                      logIndex: logIndex)
                leaves.append(event.status == .valid
                    ? item.issuanceLeaf(kid: kid, now: now)
                    : .statusChange(identifier: event.licence, status: event.status.rawValue, at: now))
            }
        }
        try appendLog(db, size: size, leaves: leaves)
        return results.map { $0! }
    }
}

