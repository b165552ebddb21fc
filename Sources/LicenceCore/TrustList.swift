/// What a key is for: signing licences (`issuer`), status lists (`status`), the authority's signed
/// trust list (`anchor`) or the transparency log's checkpoints (`log`).
public enum KeyRole: String, Sendable, Hashable, Codable, CaseIterable {
    case issuer, status, anchor, log
}

/// A key's life-cycle state. A retired key signs nothing new but its licences stay verifiable;
/// a compromised key makes every licence it signed invalid.
public enum KeyState: String, Sendable, Hashable, Codable, CaseIterable {
    case active, retired, compromised
}

/// `trust-list.json`: the public keys verifiers trust, as stored and served.
public struct TrustListDocument: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        /// 16 hex digits: the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER.
        public var kid: String
        /// `SM2`, `ES256` or `EdDSA`.
        public var alg: String
        public var role: KeyRole
        public var issuer: Issuer
        /// SubjectPublicKeyInfo PEM.
        public var publicKey: String
        /// RFC 3339 UTC time, e.g. `2026-11-29T00:00:00Z`.
        public var notBefore: String
        public var notAfter: String
        public var state: KeyState
        /// RFC 3339 UTC time the key was declared compromised; nil for other states.
        public var compromisedAt: String?

        public init(kid: String, alg: String, role: KeyRole, issuer: Issuer, publicKey: String, notBefore: String,
                    notAfter: String, state: KeyState, compromisedAt: String? = nil) {
            self.kid = kid
            self.alg = alg
            self.role = role
            self.issuer = issuer
            self.publicKey = publicKey
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.state = state
            self.compromisedAt = compromisedAt
        }
    }

    public var version: Int
    /// Grows by one with every change of the keys (`keys generate`, `retire`, `compromise`); the
    /// signed trust list carries it, so that an importer can refuse an older list.
    public var sequence: UInt64?
    public var keys: [Entry]

    public init(version: Int = 1, sequence: UInt64? = nil, keys: [Entry] = []) {
        self.version = version
        self.sequence = sequence
        self.keys = keys
    }
}

/// Another authority (another province's registry) whose signed trust list a verifier imported: its
/// keys verify that authority's licences, and its status lists answer for them.
public struct TrustAuthority: Sendable, Hashable {
    /// The name it was imported under (`trust import --name`).
    public var name: String
    /// The authority's credit code and name, as its signed trust list states them.
    public var code: String
    public var displayName: String
    /// A token's status `uri` must be this prefix followed by a list number.
    public var statusBase: String
    /// The sequence number of the list in force.
    public var sequence: UInt64
    /// When the list in force lapses; from then on its licences are not accepted.
    public var listExpires: Int64

    public init(name: String, code: String, displayName: String, statusBase: String, sequence: UInt64, listExpires: Int64) {
        self.name = name
        self.code = code
        self.displayName = displayName
        self.statusBase = statusBase
        self.sequence = sequence
        self.listExpires = listExpires
    }

    /// Whether `uri` names one of this authority's status lists: the status base followed by
    /// decimal digits only, so that a token cannot send a verifier to any other address.
    public func ownsStatusURI(_ uri: String) -> Bool {
        guard uri.hasPrefix(statusBase) else { return false }
        let rest = uri.utf8.dropFirst(statusBase.utf8.count)
        return !rest.isEmpty && rest.count <= 18 && rest.allSatisfy { (0x30...0x39).contains($0) }
    }
}

/// A public key a verifier trusts, ready to check signatures.
public struct TrustedKey: Sendable {
    public var kid: [UInt8]
    public var role: KeyRole
    public var issuer: Issuer
    public var notBefore: Int64
    public var notAfter: Int64
    public var state: KeyState
    public var verifier: any SignatureVerifier
    /// The imported authority that vouches for this key; nil for the verifier's own keys.
    public var authority: TrustAuthority?

    public var algorithm: SignatureAlgorithm { verifier.algorithm }

    public init(kid: [UInt8], role: KeyRole, issuer: Issuer, notBefore: Int64, notAfter: Int64, state: KeyState,
                verifier: any SignatureVerifier, authority: TrustAuthority? = nil) {
        self.kid = kid
        self.role = role
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.state = state
        self.verifier = verifier
        self.authority = authority
    }
}

/// Where a verifier finds keys by kid.
public protocol TrustStore: Sendable {
    /// Every trusted key with this kid (kids are short, so several keys may share one).
    func keys(kid: [UInt8]) -> [TrustedKey]
}

/// A fixed set of trusted keys, indexed by kid.
public struct TrustList: TrustStore {
    public let all: [TrustedKey]
    private let byKid: [[UInt8]: [TrustedKey]]

    public init(_ keys: [TrustedKey]) {
        all = keys
        byKid = Dictionary(grouping: keys, by: \.kid)
    }

    /// This list's keys followed by `other`'s: the verifier's own keys and those of imported authorities.
    public func merging(_ other: [TrustedKey]) -> TrustList {
        other.isEmpty ? self : TrustList(all + other)
    }

    public func keys(kid: [UInt8]) -> [TrustedKey] { byKid[kid] ?? [] }
}

/// RFC 3339 timestamps in UTC, second precision.
public enum Timestamp {
    /// Any `Int64` is accepted: a token's claims may hold one, and they are shown as they are.
    public static func format(_ seconds: Int64) -> String {
        // Floor division without overflow: `seconds - 86_399` traps near Int64.min.
        var (days, rest) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if rest < 0 {
            days -= 1
            rest += 86_400
        }
        let day = CalendarDate(daysSinceEpoch: days)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(day)T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM`; fractions of a second are dropped.
    public static func parse(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        guard chars.count >= 20, chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: "t"),
              chars[13] == UInt8(ascii: ":"), chars[16] == UInt8(ascii: ":"),
              let date = try? CalendarDate(parsing: String(decoding: chars[0..<10], as: UTF8.self)),
              let h = Int64(String(decoding: chars[11..<13], as: UTF8.self)),
              let m = Int64(String(decoding: chars[14..<16], as: UTF8.self)),
              let s = Int64(String(decoding: chars[17..<19], as: UTF8.self)),
              h < 24, m < 60, s < 61
        else { return nil }
        var index = 19
        if chars[index] == UInt8(ascii: ".") {
            index += 1
            while index < chars.count, (0x30...0x39).contains(chars[index]) { index += 1 }
        }
        guard index < chars.count else { return nil }
        var offset: Int64 = 0
        switch chars[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == chars.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard chars.count - index == 6, chars[index + 3] == UInt8(ascii: ":"),
                  let oh = Int64(String(decoding: chars[(index + 1)..<(index + 3)], as: UTF8.self)),
                  let om = Int64(String(decoding: chars[(index + 4)..<(index + 6)], as: UTF8.self))
            else { return nil }
            offset = (oh * 3600 + om * 60) * (chars[index] == UInt8(ascii: "+") ? 1 : -1)
        default: return nil
        }
        return date.daysSinceEpoch * 86_400 + h * 3600 + m * 60 + s - offset
    }
}
