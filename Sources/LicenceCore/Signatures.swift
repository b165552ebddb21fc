/// The COSE signature algorithms a licence can be signed with.
public enum SignatureAlgorithm: Int64, Sendable, Hashable, CaseIterable {
    /// ECDSA over P-256 with SHA-256.
    case es256 = -7
    /// Ed25519.
    case edDSA = -8
    /// SM2 with SM3 (GB/T 32918, GM/T 0009) and the distinguishing ID `1234567812345678`;
    /// a private-use COSE value.
    case sm2 = -65601

    /// The name used in the trust list and on the command line.
    public var name: String {
        switch self {
        case .es256: return "ES256"
        case .edDSA: return "EdDSA"
        case .sm2: return "SM2"
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "es256": self = .es256
        case "eddsa", "ed25519": self = .edDSA
        case "sm2": self = .sm2
        default: return nil
        }
    }

    /// Size of the signature in a COSE structure: 64-byte r‖s for ECDSA and SM2, 64 for Ed25519.
    public var signatureSize: Int { 64 }
}

/// Signs with one private key. Key files implement it today; a hardware crypto module
/// (GM/T 0018) can implement it later without changing callers.
public protocol Signer: Sendable {
    var algorithm: SignatureAlgorithm { get }
    /// The key identifier: the first 8 bytes of SHA-256 over the public key's SubjectPublicKeyInfo DER.
    var kid: [UInt8] { get }
    /// The COSE form of a signature over `message` (r‖s for ECDSA and SM2).
    func sign(_ message: [UInt8]) throws -> [UInt8]
}

/// Checks signatures made by one public key.
public protocol SignatureVerifier: Sendable {
    var algorithm: SignatureAlgorithm { get }
    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool
}

/// Lower-case hexadecimal.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8).filter { $0 != 0x20 && $0 != 0x0a }
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
