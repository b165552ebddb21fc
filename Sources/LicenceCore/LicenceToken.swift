/// The layer of a token at which decoding failed.
public enum TokenLayer: String, Sendable, Hashable, CaseIterable, Codable {
    case prefix, base45, zlib, cbor, cose, claims
}

/// Why a token could not be read. A malformed token is a verification outcome, not a crash:
/// ``Verifier`` turns these into ``VerificationOutcome/malformed(layer:detail:)``.
public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case prefix(String)
    case base45(Base45.DecodingError)
    case zlib(Zlib.Error)
    case cbor(CBORDecodingError)
    case cose(String)
    case claims(String)

    public var layer: TokenLayer {
        switch self {
        case .prefix: return .prefix
        case .base45: return .base45
        case .zlib: return .zlib
        case .cbor: return .cbor
        case .cose: return .cose
        case .claims: return .claims
        }
    }

    public var description: String {
        switch self {
        case .prefix(let s), .cose(let s), .claims(let s): return s
        case .base45(let e): return e.description
        case .zlib(let e): return e.description
        case .cbor(let e): return e.description
        }
    }
}

/// The QR text of a licence: `EL1:` + base45(zlib(COSE_Sign1 over the CWT claims)).
public enum LicenceToken {
    public static let prefix = "EL1:"

    /// Bounds that keep decoding cheap whatever the input.
    public struct Limits: Sendable {
        /// Longest token text accepted; a version-40 QR code holds 4,296 alphanumeric characters.
        public var maxTextLength = 8_192
        /// Most bytes the zlib step may expand to.
        public var maxDecompressedSize = 65_536
        public var cbor = CBORDecoder.Limits(maxDepth: 8, maxItems: 4_096, maxLength: 65_536)

        public init() {}
    }

    /// Signs `claims` and returns the token text.
    public static func sign(_ claims: LicenceClaims, with signer: any Signer) throws -> String {
        try encode(sign1: sign1(claims, with: signer))
    }

    /// Signs `claims` into a COSE_Sign1.
    public static func sign1(_ claims: LicenceClaims, with signer: any Signer) throws -> COSESign1 {
        let protectedBytes = COSESign1.protectedHeader(algorithm: signer.algorithm, kid: signer.kid)
        let payload = claims.encoded
        let signature = try signer.sign(COSESign1.toBeSigned(protectedBytes: protectedBytes, payload: payload))
        guard signature.count == signer.algorithm.signatureSize else {
            throw LicenceCoreError(.signingFailed,
                "the \(signer.algorithm.name) signer returned \(signature.count) bytes; expected \(signer.algorithm.signatureSize)")
        }
        return COSESign1(protectedBytes: protectedBytes, payload: payload, signature: signature)
    }

    /// The token text of a COSE_Sign1.
    public static func encode(sign1: COSESign1) -> String {
        encode(coseBytes: sign1.encoded())
    }

    public static func encode(coseBytes: [UInt8]) -> String {
        prefix + Base45.encode(Zlib.compress(coseBytes))
    }

    /// A token taken apart, layer by layer.
    public struct Decoded: Sendable {
        public var compressed: [UInt8]
        public var coseBytes: [UInt8]
        public var sign1: COSESign1
        public var algorithm: SignatureAlgorithm
        public var kid: [UInt8]
        public var claims: LicenceClaims
    }

    /// Decodes every layer of `text`, stopping at the first that fails. Surrounding whitespace
    /// (scanners add a line end) is ignored.
    public static func decode(_ text: String, limits: Limits = Limits()) throws(TokenError) -> Decoded {
        var utf8 = Array(text.utf8)
        guard utf8.count <= limits.maxTextLength + 8 else {
            throw .prefix("token has \(utf8.count) characters; at most \(limits.maxTextLength) are accepted")
        }
        while let last = utf8.last, last == 0x0a || last == 0x0d || last == 0x20 || last == 0x09 { utf8.removeLast() }
        let lead = utf8.prefix(while: { $0 == 0x0a || $0 == 0x0d || $0 == 0x20 || $0 == 0x09 }).count
        utf8.removeFirst(lead)
        guard utf8.count <= limits.maxTextLength else {
            throw .prefix("token has \(utf8.count) characters; at most \(limits.maxTextLength) are accepted")
        }
        let prefixBytes = Array(prefix.utf8)
        guard utf8.starts(with: prefixBytes) else {
            throw .prefix("token does not start with \(prefix)")
        }
        let compressed: [UInt8]
        do {
            compressed = try utf8.withUnsafeBufferPointer { buffer throws(Base45.DecodingError) in
                try Base45.decode(utf8: UnsafeBufferPointer(rebasing: buffer[prefixBytes.count...]))
            }
        } catch { throw .base45(error) }
        let coseBytes: [UInt8]
        do { coseBytes = try Zlib.decompress(compressed, limit: limits.maxDecompressedSize) } catch { throw .zlib(error) }
        let sign1 = try COSESign1(decoding: coseBytes, limits: limits.cbor)
        let (algorithm, kid) = try sign1.headers(limits: limits.cbor)
        guard sign1.signature.count == algorithm.signatureSize else {
            throw .cose("signature has \(sign1.signature.count) bytes; \(algorithm.name) signatures have \(algorithm.signatureSize)")
        }
        let claims = try LicenceClaims(payload: sign1.payload, limits: limits.cbor)
        return Decoded(compressed: compressed, coseBytes: coseBytes, sign1: sign1, algorithm: algorithm, kid: kid,
                       claims: claims)
    }
}
