import COpenSSL
import CSM2
import Crypto
import Foundation
import LicenceCore

/// Public keys, and the verifier each algorithm uses.
///
/// ES256 and Ed25519 verify through swift-crypto, which is faster than OpenSSL here (about 19,800
/// against 16,700 ES256 and 15,000 against 9,700 Ed25519 verifications per second on one core).
/// SM2 verifies with ``SM2Verifier``, ELicence's table-based C (the CSM2 target): about 48,000 a
/// second against 3,300–3,400 for OpenSSL 3.0 (`openssl speed sm2`, same run, same core).
/// ``OpenSSLVerifier`` handles all three so that the implementations can be compared
/// (Tools/bench) and cross-checked (tests).
public enum PublicKeys {
    /// The algorithm of a SubjectPublicKeyInfo.
    public static func algorithm(spki: [UInt8]) throws(LicenceCryptoError) -> SignatureAlgorithm {
        try OpenSSLVerifier(spki: spki).algorithm
    }

    /// The fastest verifier available for a SubjectPublicKeyInfo.
    public static func verifier(spki: [UInt8]) throws(LicenceCryptoError) -> any SignatureVerifier {
        let openssl = try OpenSSLVerifier(spki: spki)
        switch openssl.algorithm {
        case .sm2: return try SM2Verifier(key: openssl.key, spki: spki)
        case .es256:
            do { return try P256Verifier(spki: spki) } catch {
                throw LicenceCryptoError(.keyFile, "P-256 public key rejected: \(error)")
            }
        case .edDSA:
            do { return try Ed25519Verifier(spki: spki) } catch {
                throw LicenceCryptoError(.keyFile, "Ed25519 public key rejected: \(error)")
            }
        }
    }

    /// The 32-byte public key (RFC 8032) inside an Ed25519 SubjectPublicKeyInfo PEM, as C2SP signed
    /// notes name keys.
    public static func ed25519Raw(pem: String) throws(LicenceCryptoError) -> [UInt8] {
        let prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
        guard let der = PEM.decode(pem, label: "PUBLIC KEY"), der.count == prefix.count + 32, der.starts(with: prefix) else {
            throw LicenceCryptoError(.keyFile, "not an Ed25519 SubjectPublicKeyInfo PEM")
        }
        return Array(der.dropFirst(prefix.count))
    }

    public static func verifier(pem: String) throws(LicenceCryptoError) -> any SignatureVerifier {
        guard let der = PEM.decode(pem, label: "PUBLIC KEY") else {
            throw LicenceCryptoError(.keyFile, "not a SubjectPublicKeyInfo PEM (BEGIN PUBLIC KEY)")
        }
        return try verifier(spki: der)
    }
}

/// Verifies through OpenSSL's EVP interface; SM2 with the distinguishing ID `1234567812345678`.
public struct OpenSSLVerifier: SignatureVerifier {
    public let algorithm: SignatureAlgorithm
    let key: EVPKey

    public init(spki: [UInt8]) throws(LicenceCryptoError) {
        let pkey: OpaquePointer? = spki.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let pkey else {
            OpenSSLError.clearQueue()
            throw LicenceCryptoError(.keyFile, "not a SubjectPublicKeyInfo DER public key")
        }
        key = EVPKey(taking: pkey)
        algorithm = try PrivateKey.algorithm(of: key)
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == algorithm.signatureSize else { return false }
        let encoded: [UInt8]
        if algorithm == .edDSA {
            encoded = signature
        } else {
            guard let der = ECDSASignatureFormat.derFromRaw(signature) else { return false }
            encoded = der
        }
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        defer { if let pctx { EVP_PKEY_CTX_free(pctx) } }
        let initialised: Int32
        switch algorithm {
        case .sm2:
            pctx = EVP_PKEY_CTX_new(key.pointer, nil)
            guard let pctx, EVP_PKEY_CTX_set1_id(pctx, sm2DistinguishingID, Int32(sm2DistinguishingID.count)) == 1 else {
                OpenSSLError.clearQueue()
                return false
            }
            EVP_MD_CTX_set_pkey_ctx(md, pctx)
            initialised = EVP_DigestVerifyInit(md, nil, EVP_sm3(), nil, key.pointer)
        case .es256:
            initialised = EVP_DigestVerifyInit(md, nil, EVP_sha256(), nil, key.pointer)
        case .edDSA:
            initialised = EVP_DigestVerifyInit(md, nil, nil, nil, key.pointer)
        }
        let verified = initialised == 1 && EVP_DigestVerify(md, encoded, encoded.count, message, message.count) == 1
        if !verified { OpenSSLError.clearQueue() }
        return verified
    }
}

/// SM2-with-SM3 verification by the CSM2 target, with the distinguishing ID `1234567812345678`
/// unless another is given.
///
/// Loading a key checks that it is a point of sm2p256v1, computes its Z value and builds a table of
/// its multiples (86 KiB, about 0.7 ms); every verification then reads that table and a shared one
/// for the generator instead of doubling points. Keep one verifier per trusted key for as long as
/// the key is trusted, as the trust list does.
///
/// `@unchecked Sendable`: the C key is never changed after it is loaded, and verification only
/// reads it, so any number of threads may use one verifier at once.
public final class SM2Verifier: SignatureVerifier, @unchecked Sendable {
    let key: OpaquePointer
    public var algorithm: SignatureAlgorithm { .sm2 }

    /// A verifier for an SM2 SubjectPublicKeyInfo (DER).
    public convenience init(spki: [UInt8], distinguishingID: [UInt8] = sm2DistinguishingID) throws(LicenceCryptoError) {
        try self.init(key: OpenSSLVerifier(spki: spki).key, spki: spki, distinguishingID: distinguishingID)
    }

    /// `spki` is the SubjectPublicKeyInfo OpenSSL read `key` from.
    convenience init(key: EVPKey, spki: [UInt8], distinguishingID: [UInt8] = sm2DistinguishingID) throws(LicenceCryptoError) {
        guard try PrivateKey.algorithm(of: key) == .sm2 else {
            throw LicenceCryptoError(.keyFile, "not an SM2 public key")
        }
        guard let point = key.encodedPublicKey else {
            // OpenSSL 3.0 reads an SPKI whose point is the single byte 00 (the point at infinity, as
            // the BIT STRING 03 02 00 00 that ends it), then yields no point for it.
            let infinity = spki.suffix(4) == [0x03, 0x02, 0x00, 0x00]
            throw LicenceCryptoError(.keyFile, "SM2 public key rejected: "
                + (infinity ? Self.reason(ELICENCE_SM2_KEY_INFINITY) : "OpenSSL yields no point for it"))
        }
        try self.init(point: point, distinguishingID: distinguishingID)
    }

    /// A verifier for a point of sm2p256v1 in SEC 1 form: `04‖x‖y`, or compressed `02‖x` / `03‖x`.
    /// The hybrid form (`06`/`07`) is refused, as RFC 5480 requires.
    public init(point: [UInt8], distinguishingID: [UInt8] = sm2DistinguishingID) throws(LicenceCryptoError) {
        var status = ELICENCE_SM2_KEY_LOADED
        guard let key = elicence_sm2_key_new(point, point.count, distinguishingID, distinguishingID.count, &status) else {
            throw LicenceCryptoError(.keyFile, "SM2 public key rejected: " + Self.reason(status))
        }
        self.key = key
    }

    static func reason(_ status: elicence_sm2_key_status) -> String {
        switch status {
        case ELICENCE_SM2_KEY_INFINITY: "the point at infinity is not a public key"
        case ELICENCE_SM2_KEY_HYBRID: "hybrid point form (first byte 06 or 07) is not allowed (RFC 5480, section 2.2)"
        case ELICENCE_SM2_KEY_NOT_ON_CURVE: "not a point of the curve sm2p256v1"
        case ELICENCE_SM2_KEY_BAD_ID: "the distinguishing ID is longer than 8191 bytes"
        case ELICENCE_SM2_KEY_NO_MEMORY: "out of memory for its table"
        default: "not an SEC 1 point (04‖x‖y, or 02‖x / 03‖x)"
        }
    }

    deinit { elicence_sm2_key_free(key) }

    /// Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA), the prefix hashed before every message.
    public var z: [UInt8] {
        var z = [UInt8](repeating: 0, count: 32)
        elicence_sm2_key_z(key, &z)
        return z
    }

    /// Bytes of precomputed table each key holds.
    public static var tableSize: Int { elicence_sm2_key_table_size() }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64 else { return false }
        return elicence_sm2_verify(key, message, message.count, signature) == 1
    }

    /// The check for a digest e = SM3(Z‖M) computed elsewhere.
    public func isValidSignature(_ signature: [UInt8], digest: [UInt8]) -> Bool {
        guard signature.count == 64, digest.count == 32 else { return false }
        return elicence_sm2_verify_digest(key, digest, signature) == 1
    }
}

/// SM3 (GB/T 32905), as the CSM2 target computes it.
public enum SM3 {
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        elicence_sm3(data, data.count, &digest)
        return digest
    }
}

/// ES256 verification through swift-crypto.
public struct P256Verifier: SignatureVerifier {
    let key: P256.Signing.PublicKey
    public var algorithm: SignatureAlgorithm { .es256 }

    public init(spki: [UInt8]) throws {
        key = try P256.Signing.PublicKey(derRepresentation: spki)
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.isValidSignature(parsed, for: message)
    }
}

/// Ed25519 verification through swift-crypto.
public struct Ed25519Verifier: SignatureVerifier {
    /// The fixed DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410).
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
    let key: Curve25519.Signing.PublicKey
    public var algorithm: SignatureAlgorithm { .edDSA }

    public init(spki: [UInt8]) throws {
        guard spki.count == Self.spkiPrefix.count + 32, spki.starts(with: Self.spkiPrefix) else {
            throw LicenceCryptoError(.keyFile, "not an Ed25519 SubjectPublicKeyInfo")
        }
        key = try Curve25519.Signing.PublicKey(rawRepresentation: spki[Self.spkiPrefix.count...])
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: message)
    }
}
