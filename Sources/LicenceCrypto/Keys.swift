import COpenSSL
import Crypto
import Foundation
import LicenceCore

/// The distinguishing ID every SM2 signature and verification uses (GM/T 0009 default).
/// OpenSSL 3.0 would otherwise use an empty ID.
public let sm2DistinguishingID: [UInt8] = Array("1234567812345678".utf8)

/// A private signing key held in memory (loaded from, or written to, a PKCS#8 PEM file).
public final class PrivateKey: Sendable {
    public let algorithm: SignatureAlgorithm
    let key: EVPKey
    /// SubjectPublicKeyInfo DER of the public half.
    public let publicKeyDER: [UInt8]

    init(key: EVPKey) throws(LicenceCryptoError) {
        self.algorithm = try Self.algorithm(of: key)
        self.key = key
        self.publicKeyDER = try Self.subjectPublicKeyInfo(of: key)
    }

    /// A fresh key pair from OpenSSL's CSPRNG.
    public static func generate(_ algorithm: SignatureAlgorithm) throws(LicenceCryptoError) -> PrivateKey {
        let id: Int32
        switch algorithm {
        case .sm2: id = EVP_PKEY_SM2
        case .es256: id = EVP_PKEY_EC
        case .edDSA: id = EVP_PKEY_ED25519
        }
        guard let ctx = EVP_PKEY_CTX_new_id(id, nil) else { throw OpenSSLError.failure("EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw OpenSSLError.failure("EVP_PKEY_keygen_init") }
        if algorithm == .es256 {
            guard EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1 else {
                throw OpenSSLError.failure("EVP_PKEY_CTX_set_ec_paramgen_curve_nid")
            }
        }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw OpenSSLError.failure("EVP_PKEY_generate") }
        return try PrivateKey(key: EVPKey(taking: pkey))
    }

    /// Reads a PKCS#8 PEM private key, encrypted or not.
    public convenience init(pem: [UInt8], passphrase: String?) throws(LicenceCryptoError) {
        let encrypted = String(decoding: pem, as: UTF8.self).contains("BEGIN ENCRYPTED PRIVATE KEY")
        if encrypted && passphrase == nil {
            throw LicenceCryptoError(.passphrase,
                "the private key is encrypted; give its passphrase in ELICENCE_KEY_PASSPHRASE or with --passphrase-file")
        }
        let bio = try MemoryBIO(bytes: pem)
        OpenSSLError.clearQueue()
        // The callback hands OpenSSL the passphrase and never prompts on a terminal.
        let pkey: OpaquePointer? = (passphrase ?? "").withCString { pass in
            PEM_read_bio_PrivateKey(bio.pointer, nil, { buffer, size, _, user in
                guard let buffer, let user else { return -1 }
                let text = user.assumingMemoryBound(to: CChar.self)
                let length = Int32(strlen(text))
                guard length <= size else { return -1 }
                memcpy(buffer, text, Int(length))
                return length
            }, UnsafeMutableRawPointer(mutating: pass))
        }
        guard let pkey else {
            if encrypted {
                throw LicenceCryptoError(.passphrase, "the private key could not be decrypted: the passphrase is wrong")
            }
            throw LicenceCryptoError(.keyFile, "not a PKCS#8 PEM private key (\(OpenSSLError.failure("PEM_read_bio_PrivateKey").message))")
        }
        try self.init(key: EVPKey(taking: pkey))
    }

    /// PKCS#8 PEM, encrypted with AES-256-CBC (PBES2, PBKDF2) when a passphrase is given.
    public func pkcs8PEM(passphrase: String?) throws(LicenceCryptoError) -> [UInt8] {
        let bio = try MemoryBIO()
        let ok: Int32
        if let passphrase {
            guard !passphrase.isEmpty else { throw LicenceCryptoError(.passphrase, "the passphrase is empty") }
            ok = passphrase.withCString { pass in
                PEM_write_bio_PKCS8PrivateKey(bio.pointer, key.pointer, EVP_aes_256_cbc(), nil, 0, nil,
                                              UnsafeMutableRawPointer(mutating: pass))
            }
        } else {
            ok = PEM_write_bio_PKCS8PrivateKey(bio.pointer, key.pointer, nil, nil, 0, nil, nil)
        }
        guard ok == 1 else { throw OpenSSLError.failure("PEM_write_bio_PKCS8PrivateKey") }
        return bio.contents
    }

    public var publicKeyPEM: String { PEM.encode(publicKeyDER, label: "PUBLIC KEY") }

    /// The first 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER.
    public var kid: [UInt8] { KeyID.of(spki: publicKeyDER) }

    /// A signer for this key.
    public var signer: any Signer { OpenSSLSigner(key: self) }

    static func algorithm(of key: EVPKey) throws(LicenceCryptoError) -> SignatureAlgorithm {
        if key.isA("SM2") { return .sm2 }
        if key.isA("ED25519") { return .edDSA }
        if key.isA("EC") {
            switch key.groupName {
            case "prime256v1", "P-256": return .es256
            case "SM2": return .sm2
            case let other: throw LicenceCryptoError(.keyFile, "EC key on curve \(other ?? "unknown") is not supported; expected P-256 or SM2")
            }
        }
        throw LicenceCryptoError(.keyFile, "key type is not supported; expected SM2, P-256 (ES256) or Ed25519")
    }

    static func subjectPublicKeyInfo(of key: EVPKey) throws(LicenceCryptoError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(key.pointer, &out)
        guard length > 0, let out else { throw OpenSSLError.failure("i2d_PUBKEY") }
        defer { elicence_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}

public enum KeyID {
    /// The kid of a public key: the first 8 bytes of SHA-256 over its SubjectPublicKeyInfo DER.
    public static func of(spki: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: spki).prefix(8)) }
}

/// PEM armour (RFC 7468).
public enum PEM {
    public static func encode(_ der: [UInt8], label: String) -> String {
        let base64 = Data(der).base64EncodedString()
        var lines: [String] = ["-----BEGIN \(label)-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The DER inside the first block with `label`.
    public static func decode(_ text: String, label: String) -> [UInt8]? {
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else {
            return nil
        }
        let body = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map { Array($0) }
    }
}

/// Signs with a private key through OpenSSL; SM2 always with the distinguishing ID
/// `1234567812345678`; ECDSA and SM2 signatures are returned as 64-byte r‖s.
public struct OpenSSLSigner: Signer {
    let key: PrivateKey

    public init(key: PrivateKey) { self.key = key }

    public var algorithm: SignatureAlgorithm { key.algorithm }
    public var kid: [UInt8] { key.kid }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        let signature = try signDER(message)
        guard algorithm != .edDSA else { return signature }
        guard let raw = ECDSASignatureFormat.rawFromDER(signature) else {
            throw LicenceCryptoError(.openssl, "OpenSSL returned a signature that is not DER ECDSA-Sig-Value")
        }
        return raw
    }

    /// The signature as OpenSSL makes it: DER for ECDSA and SM2, raw for Ed25519.
    func signDER(_ message: [UInt8]) throws(LicenceCryptoError) -> [UInt8] {
        guard let md = EVP_MD_CTX_new() else { throw OpenSSLError.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        defer { if let pctx { EVP_PKEY_CTX_free(pctx) } }
        switch algorithm {
        case .sm2:
            // set1_id before the first DigestSign call, on a context we own (see INTEROP notes).
            pctx = EVP_PKEY_CTX_new(key.key.pointer, nil)
            guard let pctx, EVP_PKEY_CTX_set1_id(pctx, sm2DistinguishingID, Int32(sm2DistinguishingID.count)) == 1 else {
                throw OpenSSLError.failure("EVP_PKEY_CTX_set1_id")
            }
            EVP_MD_CTX_set_pkey_ctx(md, pctx)
            guard EVP_DigestSignInit(md, nil, EVP_sm3(), nil, key.key.pointer) == 1 else {
                throw OpenSSLError.failure("EVP_DigestSignInit (SM2)")
            }
        case .es256:
            guard EVP_DigestSignInit(md, nil, EVP_sha256(), nil, key.key.pointer) == 1 else {
                throw OpenSSLError.failure("EVP_DigestSignInit (ES256)")
            }
        case .edDSA:
            guard EVP_DigestSignInit(md, nil, nil, nil, key.key.pointer) == 1 else {
                throw OpenSSLError.failure("EVP_DigestSignInit (EdDSA)")
            }
        }
        var length = 0
        guard EVP_DigestSign(md, nil, &length, message, message.count) == 1 else {
            throw OpenSSLError.failure("EVP_DigestSign")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(md, &signature, &length, message, message.count) == 1 else {
            throw OpenSSLError.failure("EVP_DigestSign")
        }
        return Array(signature.prefix(length))
    }
}
