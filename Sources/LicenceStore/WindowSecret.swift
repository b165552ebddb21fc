import Crypto
import LicenceCore

/// The secrets of service windows: the credential `elicence windows add` makes (256 random bits,
/// `elw_` and 64 hex digits, shown once) and the session cookie the page receives for it. The
/// registry keeps only their SHA-256. A clerk types the credential by hand, so the text is hashed
/// without surrounding white space: the command line that stores the hash and the server that checks
/// it must agree on this, which is why both call ``hash(_:)``.
public enum WindowSecret {
    public static let credentialPrefix = "elw_"

    /// A new window credential.
    public static func generateCredential() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return credentialPrefix + Hex.encode(bytes)
    }

    /// SHA-256 of the secret's UTF-8 text, surrounding white space removed.
    public static func hash(_ secret: some StringProtocol) -> [UInt8] {
        Array(SHA256.hash(data: Array(String(secret).trimmingWhitespace().utf8)))
    }
}
