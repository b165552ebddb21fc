import Crypto
import Foundation
import LicenceCore

/// A holder's phone as the server meets it: a P-256 key that signs DPoP proofs and presentation
/// codes, exactly as the wallet page does with WebCrypto.
public struct TestDevice: Signer, Sendable {
    public let key = P256.Signing.PrivateKey()
    public var algorithm: SignatureAlgorithm { .es256 }

    public init() {}

    public var spki: [UInt8] { Array(key.publicKey.derRepresentation) }
    /// 8 bytes: SHA-256 over the SubjectPublicKeyInfo DER, as the device id.
    public var kid: [UInt8] { Array(SHA256.hash(data: spki).prefix(8)) }
    public var id: String { kid.map { String(format: "%02x", $0) }.joined() }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: message).rawRepresentation)
    }

    public static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A DPoP proof (RFC 9449) for `method` and `url`; `header` and `claims` override what is signed.
    public func dpop(_ method: String, _ url: String, iat: Int64 = Int64(Date().timeIntervalSince1970),
                     jti: String = UUID().uuidString, header: [String: Any] = [:], claims: [String: Any] = [:]) -> String {
        let point = Array(key.publicKey.x963Representation)
        var protected: [String: Any] = ["typ": "dpop+jwt", "alg": "ES256",
                                        "jwk": ["kty": "EC", "crv": "P-256", "x": Self.base64URL(point[1...32]), "y": Self.base64URL(point[33...64])]]
        protected.merge(header) { $1 }
        var body: [String: Any] = ["jti": jti, "htm": method, "htu": url, "iat": iat]
        body.merge(claims) { $1 }
        func part(_ object: [String: Any]) -> String {
            Self.base64URL(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        let input = part(protected) + "." + part(body)
        return input + "." + Self.base64URL(try! sign(Array(input.utf8)))
    }

    /// A presentation code (EL1P) of licence `identifier`.
    public func present(_ identifier: String, iat: Int64 = Int64(Date().timeIntervalSince1970), lifetime: Int64 = 90,
                        nonce: [UInt8]? = nil, disclosed: [String]? = nil) throws -> String {
        try PresentationCode.sign(device: kid, licenceHash: Array(SHA256.hash(data: Array(identifier.utf8)).prefix(8)),
                                  issuedAt: iat, expires: iat + lifetime,
                                  nonce: nonce ?? (0..<8).map { _ in UInt8.random(in: 0...255) }, disclosed: disclosed, with: self)
    }
}
