import LicenceCore
import LicenceLog

/// The rules of issuance, in one place for the command line and both storage engines.
///
/// The planner decides; an engine (an ``IssuanceStore``) only reads and writes. For each request it
/// decides, in order:
///
/// 1. checked against its type: the type must be in the catalogue, and the licence must give the
///    type's fields and holder kind (``check(_:at:type:)``);
/// 2. against the licence that holds its issuer + number now: the same content is `unchanged`
///    (nothing written), different content is refused unless a new version was asked for, and a
///    revoked licence or one at version 999 gets no new version (``decide(_:current:)``); a number
///    given twice in one batch is refused the second time;
/// 3. an identifier (a time-led random serial, or the old one with the next version), a status-list
///    slot and its URI (``SlotReservation``, ``StatusListURI``);
/// 4. signed on every core, outside any transaction;
/// 5. written in one transaction. What another issuer did meanwhile is settled there: a number
///    taken meanwhile is `unchanged` or refused like step 2; an old version revoked or superseded
///    meanwhile refuses its new version; an identifier taken meanwhile is drawn again and signed
///    again, and the write repeated.
///
/// A licence is reported issued only once its transaction has committed. An issued licence may
/// carry notes that stop nothing (``holderNameNotes(_:registered:)``): a holder code that the
/// registry, or an earlier licence of the same batch, knows under another holder name.
public struct IssuePlanner: Sendable {
    /// The normalised public URL, base of status-list URIs.
    let base: String
    let now: Int64

    public init(publicURL: String, now: Int64) throws(RegistryError) {
        base = try StatusListURI.base(publicURL: publicURL)
        self.now = now
    }

    // MARK: Licence JSON

    /// Reads licence JSON into a licence of the catalogue: the type must be in it, and gives the
    /// type name, the holder-code type and the validity when the document leaves them out.
    /// - Parameters:
    ///   - issuer: the agency of the signing key, used when the document names none.
    ///   - allowBadChecksum: accept a credit code whose only fault is its check character.
    public static func licence(from document: LicenceDocument, catalogue: [String: LicenceType], issuer: Issuer?,
                               allowBadChecksum: Bool = false) -> Result<Licence, LicenceCoreError> {
        var document = document
        var type: LicenceType?
        if let code = document.type?.uppercased() {
            document.type = code
            guard let found = catalogue[code] else {
                return .failure(notInCatalogue(code))
            }
            type = found
            if document.typeName == nil || document.typeName == "-" { document.typeName = found.name }
            if document.holder?.codeType == nil { document.holder?.codeType = found.holderKind.holderCodeKind.rawValue }
        }
        do {
            var licence = try document.validated(defaultIssuer: issuer, defaultValidUntil: { type?.defaultValidUntil(from: $0) },
                                                 allowBadChecksum: allowBadChecksum)
            if let type {
                licence.typeName = type.name
                try type.check(licence)
            }
            return .success(licence)
        } catch where error.code == .wrongHolderKind && type != nil {
            return .failure(holderKindError(error, type: type!, code: document.holder?.code ?? ""))
        } catch {
            return .failure(error)
        }
    }

    /// A holder code of the other kind than the type's holders, said in terms of the type.
    static func holderKindError(_ error: LicenceCoreError, type: LicenceType, code: String) -> LicenceCoreError {
        let expected = type.holderKind.holderCodeKind
        let given: HolderCode.Kind = expected == .creditCode ? .citizenID : .creditCode
        let holders = type.holderKind == .enterprise ? "enterprises" : "citizens"
        let code = code.trimmingWhitespace().uppercased()
        return LicenceCoreError(.wrongHolderKind, field: error.field ?? "holder.code",
            "licence type \(type.code) (\(type.name)) is for \(holders), whose holder code is a \(expected.chineseName) "
                + "(\(expected.englishName)); \(code) is a \(given.chineseName) (\(given.englishName))",
            zh: "证照类型 \(type.code)（\(type.name)）颁发给\(type.holderKind == .enterprise ? "企业" : "公民")，持证主体代码应为"
                + "\(expected.chineseName)；\(code) 是\(given.chineseName)")
    }

    static func notInCatalogue(_ code: String) -> LicenceCoreError {
        LicenceCoreError(.invalidField, field: "type",
                         "licence type \(code) is not in the catalogue; `elicence types list` shows it, `elicence types add` extends it")
    }

    // MARK: Decisions

    /// A request that passed its type's checks.
    struct Checked: Sendable {
        var request: Int
        var licence: Licence
        var disclosed: [String]
        var hash: [UInt8]
        var newVersion: Bool
        var number: LicenceNumber { LicenceNumber(licence) }
    }

    /// Step 1: the request against its type (nil: not in the catalogue).
    func check(_ request: IssueRequest, at index: Int, type: LicenceType?) -> Result<Checked, LicenceCoreError> {
        var licence = request.licence
        guard let type else { return .failure(Self.notInCatalogue(licence.typeCode)) }
        licence.typeName = type.name
        do { try type.check(licence) } catch { return .failure(error) }
        return .success(Checked(request: index, licence: licence, disclosed: type.disclosed, hash: ContentHash.of(licence),
                                newVersion: request.newVersion))
    }

    enum Decision: Sendable {
        case unchanged(id: String)
        case refused(LicenceCoreError)
        case issue(PlannedLicence)
    }

    /// Step 2: each checked request against the licence holding its number now.
    func decide(_ checked: [Checked], current: [LicenceNumber: CurrentLicence]) throws(RegistryError) -> [(request: Int, Decision)] {
        var claimed = Set<LicenceNumber>()
        var decisions: [(Int, Decision)] = []
        decisions.reserveCapacity(checked.count)
        var random = SystemRandomNumberGenerator()
        for entry in checked {
            let licence = entry.licence
            guard claimed.insert(entry.number).inserted else {
                decisions.append((entry.request, .refused(LicenceCoreError(.invalidField, field: "number",
                    "\(licence.number) appears twice in one batch; issue a licence number once"))))
                continue
            }
            let identifier: LicenceIdentifier
            var supersedes: String?
            if let existing = current[entry.number] {
                if existing.contentHash == entry.hash {
                    decisions.append((entry.request, .unchanged(id: existing.id)))
                    continue
                }
                if let refusal = Self.refusal(existing, newVersion: entry.newVersion, licence: licence) {
                    decisions.append((entry.request, .refused(refusal)))
                    continue
                }
                do {
                    identifier = try LicenceIdentifier(parsing: existing.id).withVersion(existing.version + 1)
                } catch { throw RegistryError(.storage, "the registry holds a malformed identifier \(existing.id): \(error)") }
                supersedes = existing.id
            } else {
                identifier = try newIdentifier(for: licence, using: &random)
            }
            decisions.append((entry.request, .issue(PlannedLicence(
                request: entry.request, licence: licence, disclosed: entry.disclosed, contentHash: entry.hash,
                identifier: identifier, supersedes: supersedes))))
        }
        return decisions
    }

    /// Why an existing licence cannot be superseded by this request, or nil when it can.
    static func refusal(_ existing: CurrentLicence, newVersion: Bool, licence: Licence) -> LicenceCoreError? {
        guard newVersion else {
            return LicenceCoreError(.invalidField, field: "number",
                "licence \(licence.number) of \(licence.issuer.code) already exists as \(existing.id) with different content; "
                    + "give --new-version to supersede it")
        }
        guard existing.status != .revoked else {
            return LicenceCoreError(.invalidField, field: "number",
                                    "licence \(existing.id) is revoked; a revoked licence cannot get a new version")
        }
        guard existing.version < 999 else {
            return LicenceCoreError(.invalidField, field: "number", "licence \(existing.id) has reached version 999")
        }
        return nil
    }

    /// A new identifier: the time, then a random serial from a cryptographically secure source.
    func newIdentifier(for licence: Licence, using random: inout SystemRandomNumberGenerator) throws(RegistryError) -> LicenceIdentifier {
        do {
            return try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: licence.issuer.code, at: now,
                                                  using: &random)
        } catch { throw RegistryError(.invalid, "no identifier can be made for \(licence.number): \(error)") }
    }

    // MARK: Running a batch

    /// Issues `requests` through `store`: every step above, in order.
    func run(_ requests: [IssueRequest], signer: any Signer, actor: String,
             store: some IssuanceStore) async throws(RegistryError) -> IssueOutcomes {
        guard !requests.isEmpty else { return IssueOutcomes([]) }
        var outcomes = [IssueOutcome?](repeating: nil, count: requests.count)

        let types = try await store.types(codes: Array(Set(requests.map(\.licence.typeCode))))
        var checked: [Checked] = []
        checked.reserveCapacity(requests.count)
        let checks = Array(requests.indices).concurrentMap { index in
            check(requests[index], at: index, type: types[requests[index].licence.typeCode])
        }
        for (index, result) in checks.enumerated() {
            switch result {
            case .success(let entry): checked.append(entry)
            case .failure(let error): outcomes[index] = .failed(error)
            }
        }
        let current = try await store.currentLicences(Array(Set(checked.map(\.number))))
        var items: [PlannedLicence] = []
        var unchanged: [(request: Int, id: String)] = []
        for (index, decision) in try decide(checked, current: current) {
            switch decision {
            case .unchanged(let id): unchanged.append((index, id))
            case .refused(let error): outcomes[index] = .failed(error)
            case .issue(let item): items.append(item)
            }
        }
        try await settleUnchanged(unchanged, in: &outcomes, store: store)
        guard !items.isEmpty else { return IssueOutcomes(outcomes.map { $0! }) }
        let registered = try await store.holderNames(codes: Array(Set(items.map(\.licence.holder.code.value))),
                                                     excluding: items.compactMap(\.supersedes))
        let notes = Self.holderNameNotes(items, registered: registered)

        // Slots are reserved for good: a batch that fails later leaves them unused.
        let slots = try await store.reserveSlots(count: items.count, base: base, now: now)
        for index in items.indices { items[index].slot = slots[index] }
        try sign(&items, at: Array(items.indices), with: signer)

        let kid = Hex.encode(signer.kid)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            switch try await store.write(items, kid: kid, actor: actor, now: now) {
            case .identifiersTaken(let taken):
                // Another issuer took an identifier meanwhile (two drawn in the same second clash once
                // in 10^12): nothing was written; those licences get new identifiers and new signatures.
                let redrawn = items.indices.filter { items[$0].supersedes == nil && taken.contains(items[$0].identifier.description) }
                guard !redrawn.isEmpty else { throw RegistryError(.storage, "licence identifiers were refused as taken, but none is new") }
                for index in redrawn { items[index].identifier = try newIdentifier(for: items[index].licence, using: &random) }
                try sign(&items, at: redrawn, with: signer)
            case .committed(let results):
                var lateUnchanged: [(request: Int, id: String)] = []
                var notesByRequest = [[IssueNote]](repeating: [], count: requests.count)
                // By index: an item is large, and a loop that binds each one copies it.
                for (index, result) in results.enumerated() {
                    let request = items[index].request
                    switch result {
                    case .written:
                        outcomes[request] = .issued(items[index].stored(kid: kid, now: now))
                        notesByRequest[request] = notes[request] ?? []
                    case .numberTaken(let holder):
                        // Another issuer issued this number meanwhile: the same licence, or another.
                        if holder.contentHash == items[index].contentHash {
                            lateUnchanged.append((request, holder.id))
                        } else {
                            outcomes[request] = .failed(Self.refusal(holder, newVersion: false, licence: items[index].licence)!)
                        }
                    case .oldVersionChanged(let old):
                        outcomes[request] = .failed(LicenceCoreError(.invalidField, field: "number",
                            "licence \(old) was revoked or superseded while this batch ran; run it again"))
                    }
                }
                try await settleUnchanged(lateUnchanged, in: &outcomes, store: store)
                return IssueOutcomes(outcomes.map { $0! }, notes: notesByRequest)
            }
        }
        throw RegistryError(.storage, "no free licence identifier was found")
    }

    /// The notes of licences about to be issued whose holder code already goes with another holder
    /// name: in the registry (`registered`, other than the version a licence supersedes), or on an
    /// earlier licence of the same batch. Keyed by request.
    static func holderNameNotes(_ items: [PlannedLicence], registered: [String: [RegisteredHolder]]) -> [Int: [IssueNote]] {
        var notes: [Int: [IssueNote]] = [:]
        var earlier: [String: [(name: String, number: String)]] = [:]
        for item in items.sorted(by: { $0.request < $1.request }) {
            let code = item.licence.holder.code.value
            let name = item.licence.holder.name
            var others: [String] = []
            for holder in registered[code] ?? [] where holder.name != name && holder.id != item.supersedes {
                others.append("is registered as \(holder.name) (licence \(holder.number))")
            }
            for holder in earlier[code] ?? [] where holder.name != name {
                others.append("is named \(holder.name) earlier in this batch (licence \(holder.number))")
            }
            // The distinct names of a code, as the registry's answer has them: a few, not every licence.
            if earlier[code]?.contains(where: { $0.name == name }) != true, earlier[code, default: []].count < 4 {
                earlier[code, default: []].append((name, item.licence.number))
            }
            guard !others.isEmpty else { continue }
            var unique: [String] = []
            for other in others where !unique.contains(other) { unique.append(other) }
            notes[item.request] = [IssueNote(field: "holder.name",
                "holder code \(code) \(unique.prefix(3).joined(separator: " and ")); this licence names \(name): "
                    + "check the holder's name and code")]
        }
        return notes
    }

    private func settleUnchanged(_ unchanged: [(request: Int, id: String)], in outcomes: inout [IssueOutcome?],
                                 store: some IssuanceStore) async throws(RegistryError) {
        guard !unchanged.isEmpty else { return }
        let found = try await store.storedLicences(ids: unchanged.map(\.id))
        for (index, id) in unchanged {
            guard let stored = found[id] else { throw RegistryError(.storage, "licence \(id) disappeared while it was read") }
            outcomes[index] = .unchanged(stored)
        }
    }

    /// Step 4: signs the items at `indexes`, spread over every core, and makes the columns their
    /// write stores.
    private func sign(_ items: inout [PlannedLicence], at indexes: [Int], with signer: any Signer) throws(RegistryError) {
        let now = self.now
        let kid = signer.kid
        let planned = items
        let signed = indexes.concurrentMap { index in
            Result { () throws -> (signed: [UInt8], columns: PlannedLicence.Columns) in
                let signed = try LicenceToken.sign1(planned[index].claims(issuedAt: now), with: signer).encoded()
                let identifier = planned[index].identifier.description
                return (signed, .init(fields: JSONText.object(planned[index].licence.fields), idHash: LicenceIDHash.of(identifier),
                                      leaf: LogRecord.issuance(identifier, signed: signed, kid: kid, issuedAt: now)))
            }
        }
        for (position, index) in indexes.enumerated() {
            switch signed[position] {
            case .success(let result): (items[index].signed, items[index].columns) = result
            case .failure(let error): throw RegistryError(.storage, "signing failed: \(error)")
            }
        }
    }
}

/// Issuer + number: what identifies a licence across its versions. Two are the same when their
/// UTF-8 is, as the registry's indexes compare them (and hashing bytes skips the Unicode
/// normalisation that hashing a String of Chinese text costs).
struct LicenceNumber: Hashable, Sendable {
    var issuer: String
    var number: String

    static func == (a: LicenceNumber, b: LicenceNumber) -> Bool {
        sameBytes(a.issuer, b.issuer) && sameBytes(a.number, b.number)
    }

    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        var (a, b) = (a, b)
        return a.withUTF8 { a in b.withUTF8 { b in a.elementsEqual(b) } }
    }

    func hash(into hasher: inout Hasher) {
        var (issuer, number) = (issuer, number)
        issuer.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(0xFF as UInt8)  // not in UTF-8: the boundary between the two
        number.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    init(issuer: String, number: String) {
        self.issuer = issuer
        self.number = number
    }

    init(_ licence: Licence) {
        self.init(issuer: licence.issuer.code, number: licence.number)
    }
}

/// The licence that holds an issuer + number now (its current version).
struct CurrentLicence: Sendable, Hashable {
    var id: String
    var version: Int
    var status: LicenceStatus
    var contentHash: [UInt8]
}

/// A licence on its way into the registry: its identifier, slot and, once signed, its bytes.
struct PlannedLicence: Sendable {
    /// The position of its request in the batch.
    var request: Int
    var licence: Licence
    var disclosed: [String]
    var contentHash: [UInt8]
    var identifier: LicenceIdentifier
    /// The identifier of the version this one supersedes.
    var supersedes: String?
    var slot = Slot(list: 0, index: 0, uri: "")
    var signed: [UInt8] = []
    /// What its write stores beside the licence, made with its signature on the signing cores so
    /// that the write transaction only binds values.
    var columns = Columns()

    struct Columns: Sendable {
        /// The extension fields as JSON text.
        var fields = ""
        /// ``LicenceIDHash`` of the identifier, by which presentation codes find the licence.
        var idHash: [UInt8] = []
        /// The transparency-log leaf of its issuance.
        var leaf: LogLeaf?
    }

    var number: LicenceNumber { LicenceNumber(licence) }

    /// The log leaf of its issuance: made when it was signed.
    func issuanceLeaf(kid: String, now: Int64) -> LogLeaf {
        columns.leaf ?? LogRecord.issuance(identifier.description, signed: signed, kid: kid, issuedAt: now)
    }

    func claims(issuedAt: Int64) -> LicenceClaims {
        LicenceClaims(licence: licence, identifier: identifier, issuedAt: issuedAt,
                      status: StatusReference(index: UInt64(slot.index), uri: slot.uri), disclosedFields: Set(disclosed))
    }

    func stored(kid: String, now: Int64) -> StoredLicence {
        StoredLicence(id: identifier, licence: licence, status: .valid, issuedAt: now, signedBytes: signed, kid: kid,
                      statusList: slot.list, statusIndex: slot.index, supersededBy: nil)
    }

    /// The history entries its write appends: `superseded` for the old version, then `valid`.
    var statusEvents: [(licence: String, status: LicenceStatus, reason: String)] {
        var events: [(String, LicenceStatus, String)] = []
        if let old = supersedes { events.append((old, .superseded, "superseded by \(identifier)")) }
        events.append((identifier.description, .valid, supersedes.map { "issued, superseding \($0)" } ?? "issued"))
        return events
    }
}

/// A holder name the registry holds for a holder code, on a current (not superseded) licence.
struct RegisteredHolder: Sendable, Hashable {
    var name: String
    /// The licence that first named it (its number and identifier, and when it was issued).
    var number: String
    var id: String
    var issuedAt: Int64 = 0

    /// How many distinct names of a code the engines look at (in the index's order): each costs one
    /// seek, so a holder with a million licences costs what one with ten does.
    static let namesLookedAt = 16
    /// How many of them the notes are made from.
    static let namesKept = 4

    /// The names first used, earliest first (by their first licence's issue time, then its number).
    static func firstNamed(_ holders: [RegisteredHolder]) -> [RegisteredHolder] {
        Array(holders.sorted { ($0.issuedAt, $0.number) < ($1.issuedAt, $1.number) }.prefix(namesKept))
    }
}

/// What an engine does for ``IssuePlanner``: reads, and one write transaction. No decisions.
protocol IssuanceStore: Sendable {
    /// The catalogue entries of these codes (absent codes are left out).
    func types(codes: [String]) async throws(RegistryError) -> [String: LicenceType]
    /// The licences that hold these numbers now.
    func currentLicences(_ numbers: [LicenceNumber]) async throws(RegistryError) -> [LicenceNumber: CurrentLicence]
    func storedLicences(ids: [String]) async throws(RegistryError) -> [String: StoredLicence]
    /// The distinct holder names of current licences with these holder codes other than the licences
    /// `excluding` names (the versions about to be superseded): a few a code
    /// (``RegisteredHolder/firstNamed(_:)`` of the first ``RegisteredHolder/namesLookedAt`` names),
    /// each with the licence that first named it.
    func holderNames(codes: [String], excluding: [String]) async throws(RegistryError) -> [String: [RegisteredHolder]]
    /// Reserves `count` slots (``SlotReservation``) in a transaction of its own, so that no two
    /// issuers, on any host, get the same slot.
    func reserveSlots(count: Int, base: String, now: Int64) async throws(RegistryError) -> [Slot]
    /// In one transaction: marks each old version superseded if it is still valid or suspended,
    /// inserts each licence unless its identifier or number is taken, and appends their status
    /// events. When a new identifier was taken, rolls everything back and says which.
    func write(_ items: [PlannedLicence], kid: String, actor: String, now: Int64) async throws(RegistryError) -> IssueWrite
}

/// What one write transaction of ``IssuanceStore/write(_:kid:actor:now:)`` did.
enum IssueWrite: Sendable {
    /// Committed; one result an item, in order.
    case committed([ItemWrite])
    /// Rolled back: these new identifiers were taken.
    case identifiersTaken(Set<String>)
}

enum ItemWrite: Sendable, Equatable {
    case written
    /// Not written: another licence holds the number now.
    case numberTaken(CurrentLicence)
    /// Not written: the old version it supersedes is no longer valid or suspended.
    case oldVersionChanged(String)
}
