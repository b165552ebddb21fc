import Crypto
import LicenceCore

/// A verifying agency (用证部门) registered to use the HTTP API.
public struct Agency: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    /// Licence types of conditional sharing (有条件共享) whose details this agency may read.
    public var grants: [String]
    public var createdAt: Int64
    public var revokedAt: Int64?

    public var isActive: Bool { revokedAt == nil }

    public init(code: String, name: String, grants: [String], createdAt: Int64, revokedAt: Int64? = nil) {
        self.code = code
        self.name = name
        self.grants = grants
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey { case code, name, grants, createdAt, revokedAt }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decode(String.self, forKey: .code)
        name = try c.decode(String.self, forKey: .name)
        grants = try c.decode([String].self, forKey: .grants)
        createdAt = try TimestampCoding.decode(c, .createdAt)
        revokedAt = try c.decodeNil(forKey: .revokedAt) ? nil : try TimestampCoding.decode(c, .revokedAt)
    }

    /// Times as ISO 8601 (`2026-11-29T08:29:52Z`), like every timestamp ELicence writes in JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(name, forKey: .name)
        try c.encode(grants, forKey: .grants)
        try c.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try c.encodeIfPresent(revokedAt.map(Timestamp.format), forKey: .revokedAt)
    }
}

/// Agency API keys: 256 random bits, shown once, stored as SHA-256.
public enum AgencyKey {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "elk_" + Hex.encode(bytes)
    }

    public static func hash(_ key: some StringProtocol) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }
}

/// One use of a licence by an agency (用证记录): a verification or a registry read.
public struct UsageRecord: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        case verify, read, holderLookup = "holder_lookup", usageRead = "usage_read", present
    }

    public var agency: String
    public var licence: String?
    public var action: Action
    /// 办事事由, from the `X-Use-Cause` header.
    public var cause: String?
    /// The verification outcome, or what a read returned (`details`, `status_only`, `not_found`).
    public var outcome: String
    public var at: Int64
    /// The imported authority (another province) whose licence it was, by its code and name; nil
    /// for this registry's own licences.
    public var authority: String?
    public var authorityName: String?

    public init(agency: String, licence: String?, action: Action, cause: String?, outcome: String, at: Int64,
                authority: String? = nil, authorityName: String? = nil) {
        self.agency = agency
        self.licence = licence
        self.action = action
        self.cause = cause
        self.outcome = outcome
        self.at = at
        self.authority = authority
        self.authorityName = authorityName
    }

    enum CodingKeys: String, CodingKey { case agency, licence, action, cause, outcome, at }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agency = try c.decode(String.self, forKey: .agency)
        licence = try c.decodeIfPresent(String.self, forKey: .licence)
        action = try c.decode(Action.self, forKey: .action)
        cause = try c.decodeIfPresent(String.self, forKey: .cause)
        outcome = try c.decode(String.self, forKey: .outcome)
        at = try TimestampCoding.decode(c, .at)
    }

    /// `at` as ISO 8601 (`2026-11-29T08:29:52Z`), like every timestamp of the API; the registry
    /// stores it as Unix seconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(agency, forKey: .agency)
        try c.encodeIfPresent(licence, forKey: .licence)
        try c.encode(action, forKey: .action)
        try c.encodeIfPresent(cause, forKey: .cause)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(Timestamp.format(at), forKey: .at)
    }
}

/// Reading a timestamp written as ISO 8601 text (or, from older output, as Unix seconds).
enum TimestampCoding {
    static func decode<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> Int64 {
        if let seconds = try? container.decode(Int64.self, forKey: key) { return seconds }
        let text = try container.decode(String.self, forKey: key)
        guard let seconds = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: "\"\(text)\" is not an ISO 8601 time such as 2026-11-29T08:29:52Z")
        }
        return seconds
    }
}

/// Counts of usage records since a time, per agency and per licence type.
public struct UsageStatistics: Sendable, Hashable, Codable {
    public struct Count: Sendable, Hashable, Codable {
        public var code: String
        public var name: String
        public var count: Int

        public init(code: String, name: String, count: Int) {
            self.code = code
            self.name = name
            self.count = count
        }
    }

    public var perAgency: [Count]
    public var perType: [Count]
    /// Uses of other authorities' licences (跨省互认), per authority.
    public var perAuthority: [Count]

    public init(perAgency: [Count], perType: [Count], perAuthority: [Count] = []) {
        self.perAgency = perAgency
        self.perType = perType
        self.perAuthority = perAuthority
    }
}

/// Agencies and usage records: the part of the registry the HTTP service needs for access control.
public protocol AgencyRegistry: Sendable {
    /// Registers an agency; `keyHash` is the SHA-256 of its API key (the key itself is never stored).
    func addAgency(_ agency: Agency, keyHash: [UInt8]) async throws(RegistryError)
    func agencies() async throws(RegistryError) -> [Agency]
    /// Revokes an agency's key; its next request is refused.
    func revokeAgency(code: String, now: Int64) async throws(RegistryError) -> Agency
    /// The active agency whose key hashes to `keyHash`.
    func agency(keyHash: [UInt8]) async throws(RegistryError) -> Agency?
    /// Every active agency with the SHA-256 of its key.
    func activeAgencies() async throws(RegistryError) -> [(keyHash: [UInt8], agency: Agency)]

    func recordUsage(_ records: [UsageRecord]) async throws(RegistryError)
    func usage(licenceID: String?, agencyCode: String?, limit: Int) async throws(RegistryError) -> [UsageRecord]
    func usageStatistics(since: Int64) async throws(RegistryError) -> UsageStatistics
    /// Deletes usage records older than `before`; returns how many.
    func purgeUsage(before: Int64) async throws(RegistryError) -> Int
}
