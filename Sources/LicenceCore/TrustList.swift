/// What a key is for: signing licences (`issuer`) or signing status lists (`status`).
public enum KeyRole: String, Sendable, Hashable, Codable, CaseIterable {
    case issuer, status
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

        public init(kid: String, alg: String, role: KeyRole, issuer: Issuer, publicKey: String, notBefore: String,
                    notAfter: String, state: KeyState) {
            self.kid = kid
            self.alg = alg
            self.role = role
            self.issuer = issuer
            self.publicKey = publicKey
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.state = state
        }
    }

    public var version: Int
    public var keys: [Entry]

    public init(version: Int = 1, keys: [Entry] = []) {
        self.version = version
        self.keys = keys
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

    public var algorithm: SignatureAlgorithm { verifier.algorithm }

    public init(kid: [UInt8], role: KeyRole, issuer: Issuer, notBefore: Int64, notAfter: Int64, state: KeyState,
                verifier: any SignatureVerifier) {
        self.kid = kid
        self.role = role
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.state = state
        self.verifier = verifier
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
