import Crypto
import LicenceCore

/// A holder's enrolled device: a browser's P-256 key, kept non-extractable on the phone.
public struct HolderDevice: Sendable, Hashable, Codable {
    /// 16 hex digits: the first 8 bytes of SHA-256 over the key's SubjectPublicKeyInfo DER.
    public var id: String
    public var holderCode: String
    /// SubjectPublicKeyInfo DER of the P-256 public key.
    public var publicKey: [UInt8]
    /// What the device said it is (the browser), for the holder's list.
    public var label: String
    public var enrolledAt: Int64
    public var revokedAt: Int64?

    public var isActive: Bool { revokedAt == nil }

    public init(id: String, holderCode: String, publicKey: [UInt8], label: String, enrolledAt: Int64, revokedAt: Int64? = nil) {
        self.id = id
        self.holderCode = holderCode
        self.publicKey = publicKey
        self.label = label
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
    }
}

/// A one-time enrolment code as the registry keeps it: only the SHA-256 of the code.
public struct HolderInvite: Sendable, Hashable {
    public var codeHash: [UInt8]
    public var holderCode: String
    public var createdAt: Int64
    public var expiresAt: Int64

    public init(codeHash: [UInt8], holderCode: String, createdAt: Int64, expiresAt: Int64) {
        self.codeHash = codeHash
        self.holderCode = holderCode
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What became of an enrolment.
public enum Enrolment: Sendable, Hashable {
    case enrolled(HolderDevice)
    case unknownCode
    case usedCode
    case expiredCode
}

/// One use of one of a holder's licences, as the holder sees it (用证留痕).
public struct HolderUsageRecord: Sendable, Hashable, Codable {
    public var licence: String
    public var typeName: String
    /// The agency's name, or nil for an anonymous verification.
    public var agency: String?
    public var action: UsageRecord.Action
    public var cause: String?
    public var outcome: String
    public var at: Int64
}

/// A service window's credential: made with the command line for an agency, shown once, kept as a
/// hash, exchanged by the window page for a session.
public struct WindowCredential: Sendable, Hashable, Codable {
    public var id: Int64
    public var agencyCode: String
    public var label: String
    public var createdAt: Int64
    public var revokedAt: Int64?
}

/// A signed-in window's session, kept as the hash of its cookie.
public struct WindowSession: Sendable, Hashable {
    public var agencyCode: String
    public var credential: Int64
    /// The value the page sends back with each request (a CSRF guard).
    public var csrfToken: String
    public var expiresAt: Int64

    public init(agencyCode: String, credential: Int64, csrfToken: String, expiresAt: Int64) {
        self.agencyCode = agencyCode
        self.credential = credential
        self.csrfToken = csrfToken
        self.expiresAt = expiresAt
    }
}

/// Holders' wallets and the windows that verify them: enrolment codes, devices, the one-time
/// values of presentation codes and DPoP proofs, and window credentials and sessions. One-time
/// values are kept in the registry, so they are one-time across every server.
public protocol HolderRegistry: Sendable {
    func addInvite(_ invite: HolderInvite) async throws(RegistryError)
    /// Uses the code that hashes to `codeHash` for `device`, atomically: the device is enrolled for the
    /// code's holder, or nothing changes.
    func enrol(codeHash: [UInt8], device: HolderDevice, now: Int64) async throws(RegistryError) -> Enrolment
    func device(id: String) async throws(RegistryError) -> HolderDevice?
    func devices(holderCode: String) async throws(RegistryError) -> [HolderDevice]
    func revokeDevice(id: String, now: Int64) async throws(RegistryError) -> HolderDevice
    /// Records a one-time value (a presentation's nonce, a DPoP proof's `jti`) until `expires`;
    /// false when it was recorded before. Expired values are forgotten.
    func useOnce(_ value: [UInt8], expires: Int64, now: Int64) async throws(RegistryError) -> Bool
    /// The licence whose identifier's SHA-256 begins with these 8 bytes.
    func licence(idHash: [UInt8]) async throws(RegistryError) -> StoredLicence?
    /// The uses of a holder's licences, newest first.
    func holderUsage(holderCode: String, limit: Int) async throws(RegistryError) -> [HolderUsageRecord]

    /// Makes a window credential for an agency; `hash` is the SHA-256 of the credential.
    func addWindowCredential(agencyCode: String, label: String, hash: [UInt8], now: Int64) async throws(RegistryError) -> WindowCredential
    func windowCredentials(agencyCode: String?) async throws(RegistryError) -> [WindowCredential]
    func revokeWindowCredential(id: Int64, now: Int64) async throws(RegistryError) -> WindowCredential
    /// The active credential with this hash, of an active agency.
    func windowCredential(hash: [UInt8]) async throws(RegistryError) -> WindowCredential?
    func addWindowSession(hash: [UInt8], session: WindowSession) async throws(RegistryError)
    /// The session with this hash, while it and its credential and agency are active.
    func windowSession(hash: [UInt8], now: Int64) async throws(RegistryError) -> WindowSession?
    func endWindowSession(hash: [UInt8]) async throws(RegistryError)
}

/// The first 8 bytes of SHA-256 over a licence identifier, as presentation codes name it.
public enum LicenceIDHash {
    public static func of(_ identifier: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(identifier.utf8)).prefix(8))
    }
}

/// One-time enrolment codes: 100 random bits in Crockford's base32, 20 characters in groups of four
/// (`K7Q2-…`). Only the SHA-256 of a code is kept. What a person types is read forgivingly: case,
/// spaces and hyphens do not matter, and I, L and O are read as 1, 1 and 0.
public enum InviteCode {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = (0..<20).map { _ in alphabet[Int.random(in: 0..<32, using: &generator)] }
        return stride(from: 0, to: 20, by: 4).map { String(bits[$0..<($0 + 4)]) }.joined(separator: "-")
    }

    /// The code's 20 characters, or nil when `text` cannot be a code (a typing mistake).
    public static func normalize(_ text: String) -> String? {
        var out: [Character] = []
        for character in text.uppercased() {
            switch character {
            case " ", "-", "\t": continue
            case "I", "L": out.append("1")
            case "O": out.append("0")
            default:
                guard alphabet.contains(character) else { return nil }
                out.append(character)
            }
        }
        return out.count == 20 ? String(out) : nil
    }

    public static func hash(normalized: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(normalized.utf8)))
    }
}
