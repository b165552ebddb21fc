import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore

/// A DPoP proof (RFC 9449): a JWT signed by the wallet's device key, which names the key in its
/// header (`jwk`), and the request in its claims (`htm`, `htu`), with a unique `jti` and the time
/// `iat`. Every wallet request carries one in the `DPoP` header; the server keeps no bearer secret.
struct DPoPProof: Sendable {
    /// The device key's SubjectPublicKeyInfo DER (P-256).
    var publicKey: [UInt8]
    var jti: String
    var method: String
    var url: String
    var issuedAt: Int64

    /// The device id: 16 hex digits, the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER.
    var deviceID: String { Hex.encode(SHA256.hash(data: publicKey).prefix(8)) }

    /// The SubjectPublicKeyInfo DER of a P-256 point, from the JWK's `x` and `y`.
    static func spki(x: [UInt8], y: [UInt8]) -> [UInt8] {
        let prefix: [UInt8] = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                               0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04]
        return prefix + x + y
    }

    enum Failure: Error, CustomStringConvertible {
        case malformed(String), badSignature, wrongRequest(String), stale, replayed, unknownDevice

        var description: String {
            switch self {
            case .malformed(let why): return "the DPoP proof is malformed: \(why)"
            case .badSignature: return "the DPoP proof's signature does not verify with its key"
            case .wrongRequest(let why): return "the DPoP proof is for another request: \(why)"
            case .stale: return "the DPoP proof's iat is more than 60 seconds from now"
            case .replayed: return "the DPoP proof was used before"
            case .unknownDevice: return "the device is not enrolled, or was removed"
            }
        }

        var problem: Problem {
            switch self {
            case .unknownDevice:
                return Problem(.unauthorized, "unknown-device", zh: "此设备未登记或已被移除，请用一次性登记码重新登记。",
                               en: "This device is not enrolled or was removed; enrol it again with a one-time code.",
                               headers: [.wwwAuthenticate: "DPoP algs=\"ES256\""])
            default:
                return Problem(.unauthorized, "invalid-dpop", zh: "设备证明（DPoP）无效：请刷新页面后重试。",
                               en: "The device proof (DPoP) is not valid: \(description).", headers: [.wwwAuthenticate: "DPoP algs=\"ES256\""])
            }
        }
    }

    static func base64URL(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    /// Reads and verifies the signature of a proof (its key is in its own header).
    init(jwt: String) throws(Failure) {
        guard jwt.utf8.count <= 4096 else { throw .malformed("longer than 4096 bytes") }
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URL(parts[0]), let payloadBytes = Self.base64URL(parts[1]),
              let signature = Self.base64URL(parts[2]) else { throw .malformed("not a compact JWS of three base64url parts") }
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
              let claims = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any] else {
            throw .malformed("its header or claims are not JSON objects")
        }
        guard header["typ"] as? String == "dpop+jwt", header["alg"] as? String == "ES256" else {
            throw .malformed("typ must be dpop+jwt and alg ES256")
        }
        guard let jwk = header["jwk"] as? [String: Any], jwk["kty"] as? String == "EC", jwk["crv"] as? String == "P-256",
              jwk["d"] == nil, let x = (jwk["x"] as? String).flatMap({ Self.base64URL(Substring($0)) }),
              let y = (jwk["y"] as? String).flatMap({ Self.base64URL(Substring($0)) }), x.count == 32, y.count == 32 else {
            throw .malformed("jwk must be a public P-256 key (kty EC, crv P-256, x, y)")
        }
        publicKey = Self.spki(x: x, y: y)
        guard let verifier = try? P256Verifier(spki: publicKey) else { throw .malformed("jwk is not a point of P-256") }
        guard verifier.isValidSignature(signature, for: Array((parts[0] + "." + parts[1]).utf8)) else { throw .badSignature }
        guard let jti = claims["jti"] as? String, !jti.isEmpty, jti.utf8.count <= 256, let htm = claims["htm"] as? String,
              let htu = claims["htu"] as? String, let iat = (claims["iat"] as? NSNumber)?.int64Value else {
            throw .malformed("jti, htm, htu and iat are required")
        }
        self.jti = jti
        method = htm
        url = htu
        issuedAt = iat
    }

    /// Checks the proof names this request (method, host and path; RFC 9449 compares the URL
    /// without query and fragment) and is fresh.
    func check(_ request: Request, now: Int64) throws(Failure) {
        guard method == request.method.rawValue else { throw .wrongRequest("htm is \(method), the request is \(request.method)") }
        guard let components = URLComponents(string: url), let host = components.host else { throw .wrongRequest("htu is not a URL") }
        let authority = host.lowercased() + (components.port.map { ":\($0)" } ?? "")
        let requestHost = (request.head.authority ?? "").lowercased()
        guard components.path == request.uri.path else { throw .wrongRequest("htu's path is \(components.path)") }
        guard requestHost.isEmpty || requestHost == authority else { throw .wrongRequest("htu's host is \(authority)") }
        guard abs(now - issuedAt) <= 60 else { throw .stale }
    }
}
