import COpenSSL

/// An OpenSSL `EVP_PKEY`, freed with its owner.
///
/// `@unchecked Sendable`: OpenSSL 3 allows concurrent signing and verification with one EVP_PKEY
/// as long as nobody mutates it, and this wrapper exposes no mutation after creation.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    func isA(_ name: String) -> Bool { EVP_PKEY_is_a(pointer, name) == 1 }

    /// The curve of an EC key, e.g. `prime256v1` or `SM2`.
    var groupName: String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pointer, OSSL_PKEY_PARAM_GROUP_NAME, &buffer, buffer.count, &length) == 1 else {
            return nil
        }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The public point of an EC key in SEC 1 form, as the key holds it.
    var encodedPublicKey: [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 133)
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pointer, OSSL_PKEY_PARAM_PUB_KEY, &buffer, buffer.count, &length) == 1 else {
            OpenSSLError.clearQueue()
            return nil
        }
        return Array(buffer[0..<length])
    }
}

/// A memory BIO, freed with its owner.
final class MemoryBIO {
    let pointer: OpaquePointer

    init() throws(LicenceCryptoError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.failure("BIO_new") }
        pointer = bio
    }

    init(bytes: [UInt8]) throws(LicenceCryptoError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.failure("BIO_new") }
        pointer = bio
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) || bytes.isEmpty else { throw OpenSSLError.failure("BIO_write") }
    }

    deinit { BIO_free(pointer) }

    var contents: [UInt8] {
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = elicence_BIO_get_mem_data(pointer, &data)
        guard let data, length > 0 else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}

enum OpenSSLError {
    /// An error for a failed OpenSSL call, with the library's reason when its queue has one
    /// (it can be empty after a failure).
    static func failure(_ operation: String) -> LicenceCryptoError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let detail = reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")
        return LicenceCryptoError(.openssl, "OpenSSL \(operation) failed\(detail)")
    }

    static func clearQueue() { ERR_clear_error() }
}

/// Conversion between OpenSSL's DER `ECDSA-Sig-Value` and COSE's fixed-size r‖s.
enum ECDSASignatureFormat {
    static func rawFromDER(_ der: [UInt8], coordinateSize: Int = 32) -> [UInt8]? {
        var cursor: UnsafePointer<UInt8>? = nil
        return der.withUnsafeBufferPointer { buffer -> [UInt8]? in
            cursor = buffer.baseAddress
            guard let sig = d2i_ECDSA_SIG(nil, &cursor, buffer.count) else { return nil }
            defer { ECDSA_SIG_free(sig) }
            var r: OpaquePointer? = nil
            var s: OpaquePointer? = nil
            ECDSA_SIG_get0(sig, &r, &s)
            guard let r, let s else { return nil }
            var out = [UInt8](repeating: 0, count: 2 * coordinateSize)
            let ok = out.withUnsafeMutableBufferPointer { p -> Bool in
                BN_bn2binpad(r, p.baseAddress, Int32(coordinateSize)) == Int32(coordinateSize)
                    && BN_bn2binpad(s, p.baseAddress! + coordinateSize, Int32(coordinateSize)) == Int32(coordinateSize)
            }
            return ok ? out : nil
        }
    }

    static func derFromRaw(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count % 2 == 0, !raw.isEmpty else { return nil }
        let half = raw.count / 2
        guard let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + half, Int32(half), nil) }
        guard let r, let s, ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ECDSA_SIG(sig, &out)
        guard length > 0, let out else { return nil }
        defer { elicence_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
