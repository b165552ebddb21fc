import LicenceCore

/// The registry of issued licences: the catalogue, licences with their signed bytes, status history
/// and status lists. Callers see only this protocol, so storage engines can change underneath them.
///
/// Every call is `async` and waits for the database without holding a thread: SQLite work runs on
/// GRDB's own queues, PostgreSQL work on the connection pool's event loops.
public protocol LicenceRegistry: Sendable {
    // Catalogue
    func addType(_ type: LicenceType, now: Int64) async throws(RegistryError)
    func types() async throws(RegistryError) -> [LicenceType]
    func type(code: String) async throws(RegistryError) -> LicenceType?

    /// Issues licences: checks each against the catalogue (``IssuePlanner``), signs the new ones
    /// outside any transaction, and writes them in one durable transaction. Each request succeeds or
    /// fails on its own; the answers come back in request order, with the notes of each (see
    /// ``IssueNote``), and a licence is reported issued only once its transaction has committed.
    func issue(_ requests: [IssueRequest], signer: any Signer, publicURL: String, actor: String,
               now: Int64) async throws(RegistryError) -> IssueOutcomes

    // Queries
    func licence(id: LicenceIdentifier) async throws(RegistryError) -> StoredLicence?
    /// The current status of one licence, or nil when the registry has no such licence. Reads the
    /// latest committed state, so a change acknowledged by another process is seen at once.
    func status(id: LicenceIdentifier) async throws(RegistryError) -> LicenceStatus?
    func licences(_ filter: LicenceFilter) async throws(RegistryError) -> [StoredLicence]
    func statusEvents(licenceID: LicenceIdentifier) async throws(RegistryError) -> [StatusEvent]

    /// Changes a licence's status; returns once the change is durable.
    func changeStatus(id: LicenceIdentifier, to status: LicenceStatus, reason: String, actor: String,
                      now: Int64) async throws(RegistryError) -> StoredLicence

    /// Every status list with the current status of each of its entries.
    func statusLists() async throws(RegistryError) -> [StatusListSnapshot]
    /// One status list, or nil when there is no list `number`.
    func statusList(number: Int64) async throws(RegistryError) -> StatusListSnapshot?

    /// What a server keeps its in-memory status index exact with.
    func makeStatusFeed() async throws(RegistryError) -> any StatusFeed

    // Settings
    /// The value of a registry setting, or nil when it was never set.
    func setting(_ setting: RegistrySetting) async throws(RegistryError) -> String?
    /// Sets a registry setting (nil removes it); durable before it returns. The value is stored as
    /// given: ``RegistrySetting/normalised(_:)`` checks it first.
    func setSetting(_ setting: RegistrySetting, to value: String?, now: Int64) async throws(RegistryError)
}

/// One licence to issue.
public struct IssueRequest: Sendable {
    public var licence: Licence
    /// Supersede an existing licence with the same issuer and number whose content differs.
    public var newVersion: Bool

    public init(licence: Licence, newVersion: Bool = false) {
        self.licence = licence
        self.newVersion = newVersion
    }
}

/// What became of one issue request.
public enum IssueOutcome: Sendable {
    /// A new licence (or a new version of one).
    case issued(StoredLicence)
    /// The same licence, with the same content, was issued before; nothing was written.
    case unchanged(StoredLicence)
    case failed(LicenceCoreError)
}

/// A remark on an issued licence that does not stop it: the licence was issued, and a person should
/// look at it (for instance a holder code that the registry knows under another holder name).
public struct IssueNote: Sendable, Hashable, CustomStringConvertible {
    /// The licence-JSON path it concerns, such as `holder.name`.
    public var field: String?
    public var message: String

    public init(field: String? = nil, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

/// The outcomes of one ``LicenceRegistry/issue(_:signer:publicURL:actor:now:)`` call, in request
/// order, each with its notes (most have none).
public struct IssueOutcomes: RandomAccessCollection, Sendable {
    public let outcomes: [IssueOutcome]
    /// The notes of each outcome, in the same order.
    public let notes: [[IssueNote]]

    public init(_ outcomes: [IssueOutcome], notes: [[IssueNote]]? = nil) {
        precondition(notes == nil || notes!.count == outcomes.count, "one list of notes an outcome")
        self.outcomes = outcomes
        self.notes = notes ?? Array(repeating: [], count: outcomes.count)
    }

    public var startIndex: Int { outcomes.startIndex }
    public var endIndex: Int { outcomes.endIndex }
    public subscript(position: Int) -> IssueOutcome { outcomes[position] }
}

/// A licence as the registry holds it.
public struct StoredLicence: Sendable, Hashable {
    public var id: LicenceIdentifier
    public var licence: Licence
    public var status: LicenceStatus
    public var issuedAt: Int64
    /// The COSE_Sign1 bytes exactly as signed.
    public var signedBytes: [UInt8]
    public var kid: String
    public var statusList: Int64
    public var statusIndex: Int64
    public var supersededBy: String?

    public init(id: LicenceIdentifier, licence: Licence, status: LicenceStatus, issuedAt: Int64, signedBytes: [UInt8],
                kid: String, statusList: Int64, statusIndex: Int64, supersededBy: String?) {
        self.id = id
        self.licence = licence
        self.status = status
        self.issuedAt = issuedAt
        self.signedBytes = signedBytes
        self.kid = kid
        self.statusList = statusList
        self.statusIndex = statusIndex
        self.supersededBy = supersededBy
    }

    /// The QR text of the licence.
    public var token: String { LicenceToken.encode(coseBytes: signedBytes) }
}

/// Which licences a query returns.
public struct LicenceFilter: Sendable {
    public var holderCode: String?
    public var typeCode: String?
    public var status: LicenceStatus?
    public var limit: Int
    public var offset: Int

    public init(holderCode: String? = nil, typeCode: String? = nil, status: LicenceStatus? = nil, limit: Int = 1000,
                offset: Int = 0) {
        self.holderCode = holderCode
        self.typeCode = typeCode
        self.status = status
        self.limit = limit
        self.offset = offset
    }
}

/// One change of a licence's status. History is kept; nothing is overwritten.
public struct StatusEvent: Sendable, Hashable, Codable {
    public var status: LicenceStatus
    public var reason: String
    public var actor: String
    public var at: Int64

    public init(status: LicenceStatus, reason: String, actor: String, at: Int64) {
        self.status = status
        self.reason = reason
        self.actor = actor
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case status, reason, actor, at }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(LicenceStatus.self, forKey: .status)
        reason = try c.decode(String.self, forKey: .reason)
        actor = try c.decode(String.self, forKey: .actor)
        at = try TimestampCoding.decode(c, .at)
    }

    /// `at` as ISO 8601, like every timestamp ELicence writes in JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(reason, forKey: .reason)
        try c.encode(actor, forKey: .actor)
        try c.encode(Timestamp.format(at), forKey: .at)
    }
}

/// A status list and the current value of each entry.
public struct StatusListSnapshot: Sendable {
    public var number: Int64
    public var uri: String
    public var list: StatusList
    public var used: Int
}
