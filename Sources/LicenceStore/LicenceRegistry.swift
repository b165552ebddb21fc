import LicenceCore

/// The registry of issued licences: the catalogue, licences with their signed bytes, status history,
/// status lists, agencies and usage records. Callers see only this protocol, so storage engines can
/// change underneath them.
public protocol LicenceRegistry: Sendable {
    // Catalogue
    func addType(_ type: LicenceType, now: Int64) throws(RegistryError)
    func types() throws(RegistryError) -> [LicenceType]
    func type(code: String) throws(RegistryError) -> LicenceType?

    /// Issues licences in one durable transaction. Each request succeeds or fails on its own; the
    /// answers come back in request order.
    func issue(_ requests: [IssueRequest], signer: any Signer, publicURL: String, actor: String,
               now: Int64) throws(RegistryError) -> [IssueOutcome]

    // Queries
    func licence(id: String) throws(RegistryError) -> StoredLicence?
    /// The current status of one licence, or nil when the registry has no such licence. Reads the
    /// latest committed state, so a change acknowledged by another process is seen at once.
    func status(id: String) throws(RegistryError) -> LicenceStatus?
    func licences(_ filter: LicenceFilter) throws(RegistryError) -> [StoredLicence]
    func statusEvents(licenceID: String) throws(RegistryError) -> [StatusEvent]

    /// Changes a licence's status; returns once the change is durable.
    func changeStatus(id: String, to status: LicenceStatus, reason: String, actor: String,
                      now: Int64) throws(RegistryError) -> StoredLicence

    /// Every status list with the current status of each of its entries.
    func statusLists() throws(RegistryError) -> [StatusListSnapshot]
    /// One status list, or nil when there is no list `number`.
    func statusList(number: Int64) throws(RegistryError) -> StatusListSnapshot?

    /// What a server keeps its in-memory status index exact with. Each call makes a new feed.
    func makeStatusFeed() throws(RegistryError) -> any StatusFeed
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
}

/// A status list and the current value of each entry.
public struct StatusListSnapshot: Sendable {
    public var number: Int64
    public var uri: String
    public var list: StatusList
    public var used: Int
}

/// The one error type of LicenceStore.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The database could not be opened, read or written.
        public static let storage = Code(rawValue: "storage")
        /// No such licence, type or list.
        public static let notFound = Code(rawValue: "not_found")
        /// The request conflicts with what the registry holds (duplicate type, final status…).
        public static let conflict = Code(rawValue: "conflict")
        /// The request itself is invalid.
        public static let invalid = Code(rawValue: "invalid")
        /// Internal: the transaction was rolled back to be run again; never seen by callers.
        static let retry = Code(rawValue: "retry")
    }

    public var code: Code
    public var message: String
    /// The PostgreSQL SQLSTATE behind a storage error, when there is one.
    var sqlState: String?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The rules of a status change, the same whatever engine holds the registry.
enum StatusChange {
    /// The reason, trimmed, for a change to `status`; refused when no such change can be asked for.
    static func reason(_ reason: String, to status: LicenceStatus) throws(RegistryError) -> String {
        guard status != .superseded else {
            throw RegistryError(.invalid, "a licence is superseded only by issuing a new version of it")
        }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw RegistryError(.invalid, "--reason must say why the status changes") }
        guard trimmed.count <= 1000 else { throw RegistryError(.invalid, "--reason is longer than 1000 characters") }
        return trimmed
    }

    /// Refuses a change the licence's current status does not allow: revocation is final, a
    /// superseded licence is changed through its newer version, and a change must change something.
    static func check(_ current: StoredLicence, to status: LicenceStatus) throws(RegistryError) {
        let id = current.id.description
        switch (current.status, status) {
        case (.revoked, _):
            throw RegistryError(.conflict, "licence \(id) is revoked; revocation is final")
        case (.superseded, _):
            throw RegistryError(.conflict, "licence \(id) is superseded by \(current.supersededBy ?? "a newer version"); change that one instead")
        case (.valid, .valid):
            throw RegistryError(.conflict, "licence \(id) is valid, not suspended; there is nothing to reinstate")
        case (.suspended, .suspended):
            throw RegistryError(.conflict, "licence \(id) is already suspended")
        default:
            break
        }
    }
}
