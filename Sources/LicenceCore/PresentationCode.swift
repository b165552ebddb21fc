/// A presentation code (亮证): what a holder's wallet shows at a service window for a few minutes,
/// signed by the key of an enrolled device. `EL1P:` + base45 of a COSE_Sign1 (tag 18, no zlib):
///
/// - protected header `{1: -7 (ES256), 4: device id (8 bytes)}`;
/// - payload `{1: the first 8 bytes of SHA-256 of the licence identifier, 2: iat, 3: exp,
///   4: nonce (8 random bytes), 5: [the names of the fields disclosed]}` (5 absent: the type's
///   disclosed fields), with `exp − iat` at most 180 seconds;
/// - signature r‖s by the device's P-256 key.
///
/// It fits a QR code of version 10 at level Q (221 alphanumeric characters). Decoding checks the
/// form only; who the device is, the signature, the time and the nonce are checked against the
/// registry (the window is online).
public struct PresentationCode: Sendable, Hashable {
    public static let prefix = "EL1P:"
    /// The longest life a code may claim, in seconds.
    public static let maxLifetime: Int64 = 180
    /// The most characters a code may have: a QR code of version 10 at level Q.
    public static let maxLength = 221

    public var device: [UInt8]
    public var licenceHash: [UInt8]
    public var issuedAt: Int64
    public var expires: Int64
    public var nonce: [UInt8]
    /// The fields the holder chose to disclose; nil: the type's disclosed fields.
    public var disclosed: [String]?
    /// The signed message, exactly as received.
    public var sign1: COSESign1

    /// Whether `text` is a presentation code rather than a licence token (by its prefix).
    public static func isPresentation(_ text: String) -> Bool {
        text.utf8.drop(while: { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }).starts(with: prefix.utf8)
    }

    /// The payload, in deterministic CBOR.
    public static func payload(licenceHash: [UInt8], issuedAt: Int64, expires: Int64, nonce: [UInt8], disclosed: [String]?) -> [UInt8] {
        var entries: [CBOR.Entry] = [
            CBOR.Entry(.int(1), .bytes(licenceHash)), CBOR.Entry(.int(2), .int(issuedAt)), CBOR.Entry(.int(3), .int(expires)),
            CBOR.Entry(.int(4), .bytes(nonce)),
        ]
        if let disclosed { entries.append(CBOR.Entry(.int(5), .array(disclosed.map { .text($0) }))) }
        return CBOR.map(entries).encoded()
    }

    /// A signed code (for tests and tools; wallets sign in the browser).
    public static func sign(device: [UInt8], licenceHash: [UInt8], issuedAt: Int64, expires: Int64, nonce: [UInt8],
                            disclosed: [String]?, with signer: any Signer) throws -> String {
        let protected = COSESign1.protectedHeader(algorithm: .es256, kid: device)
        let payload = payload(licenceHash: licenceHash, issuedAt: issuedAt, expires: expires, nonce: nonce, disclosed: disclosed)
        let signature = try signer.sign(COSESign1.toBeSigned(protectedBytes: protected, payload: payload))
        return prefix + Base45.encode(COSESign1(protectedBytes: protected, payload: payload, signature: signature).encoded())
    }

    /// Reads a code, layer by layer; the first layer that fails is named.
    public init(decoding text: String) throws(TokenError) {
        var utf8 = Array(text.utf8)
        while let last = utf8.last, last == 0x0a || last == 0x0d || last == 0x20 || last == 0x09 { utf8.removeLast() }
        utf8.removeFirst(utf8.prefix(while: { $0 == 0x0a || $0 == 0x0d || $0 == 0x20 || $0 == 0x09 }).count)
        guard utf8.starts(with: Self.prefix.utf8) else { throw .prefix("a presentation code starts with \(Self.prefix)") }
        guard utf8.count <= Self.maxLength + 64 else {
            throw .prefix("a presentation code has at most \(Self.maxLength) characters; this one has \(utf8.count)")
        }
        let bytes: [UInt8]
        do { bytes = try Base45.decode(utf8: Array(utf8.dropFirst(Self.prefix.utf8.count))) } catch { throw .base45(error) }
        let limits = CBORDecoder.Limits(maxDepth: 4, maxItems: 64, maxLength: 512)
        let sign1 = try COSESign1(decoding: bytes, limits: limits)
        let (algorithm, device) = try sign1.headers(limits: limits)
        guard algorithm == .es256 else { throw .cose("a presentation code is signed with ES256, not \(algorithm.name)") }
        guard device.count == 8 else { throw .cose("the device id has \(device.count) bytes; expected 8") }
        guard sign1.signature.count == 64 else { throw .cose("the signature has \(sign1.signature.count) bytes; ES256 signatures have 64") }
        let payload: CBOR
        do { payload = try CBORDecoder.decode(sign1.payload, limits: limits) } catch { throw .cbor(error) }
        guard let entries = payload.mapEntries else { throw .claims("the payload is not a map") }
        func value(_ key: Int64) -> CBOR? { entries.first { $0.key.int64 == key }?.value }
        guard entries.allSatisfy({ ($0.key.int64).map { (1...5).contains($0) } ?? false }) else {
            throw .claims("the payload has a key other than 1 to 5")
        }
        guard let hash = value(1)?.bytesValue, hash.count == 8 else { throw .claims("1 (licence) must be 8 bytes") }
        guard let iat = value(2)?.int64, let exp = value(3)?.int64 else { throw .claims("2 (iat) and 3 (exp) must be integers") }
        guard exp > iat, exp - iat <= Self.maxLifetime else {
            throw .claims("a code lives at most \(Self.maxLifetime) seconds; this one claims \(exp - iat)")
        }
        guard let nonce = value(4)?.bytesValue, nonce.count == 8 else { throw .claims("4 (nonce) must be 8 bytes") }
        var disclosed: [String]?
        if let fields = value(5) {
            guard let items = fields.arrayValue, items.count <= 32 else { throw .claims("5 (disclosed fields) must be an array") }
            disclosed = try items.map { item throws(TokenError) -> String in
                guard let name = item.textValue else { throw .claims("5 (disclosed fields) must hold texts") }
                return name
            }
        }
        self.device = device
        licenceHash = hash
        issuedAt = iat
        expires = exp
        self.nonce = nonce
        self.disclosed = disclosed
        self.sign1 = sign1
    }

    /// Whether the device key `verifier` signed this code.
    public func isSigned(by verifier: any SignatureVerifier) -> Bool {
        verifier.algorithm == .es256 && verifier.isValidSignature(sign1.signature, for: sign1.toBeSigned)
    }

    /// Whether the code is current at `now`: from `iat − skew` until `exp`.
    public func isCurrent(at now: Int64, skew: Int64 = 30) -> Bool {
        issuedAt - skew <= now && now <= expires
    }
}
