/// A COSE_Sign1 message (RFC 9052 §4.2): protected header bytes, unprotected header, payload and
/// signature. The protected header and payload are kept exactly as received, since the signature
/// covers those bytes.
public struct COSESign1: Sendable, Hashable {
    public static let tag: UInt64 = 18

    public enum HeaderLabel {
        public static let alg: Int64 = 1
        /// `crit`: labels a recipient must understand or else refuse the message (RFC 9052 §3.1).
        public static let crit: Int64 = 2
        public static let kid: Int64 = 4
        /// `typ` (RFC 9596): the media type of the whole message.
        public static let typ: Int64 = 16
    }

    /// The header labels a licence token's reader processes: alg and kid.
    public static let tokenLabels: Set<Int64> = [HeaderLabel.alg, HeaderLabel.kid]

    public var protectedBytes: [UInt8]
    public var unprotected: [CBOR.Entry]
    public var payload: [UInt8]
    public var signature: [UInt8]

    public init(protectedBytes: [UInt8], unprotected: [CBOR.Entry] = [], payload: [UInt8], signature: [UInt8]) {
        self.protectedBytes = protectedBytes
        self.unprotected = unprotected
        self.payload = payload
        self.signature = signature
    }

    /// The protected header `{1: alg, 4: kid}` in deterministic CBOR.
    public static func protectedHeader(algorithm: SignatureAlgorithm, kid: [UInt8]) -> [UInt8] {
        CBOR.map([CBOR.Entry(.int(HeaderLabel.alg), .int(algorithm.rawValue)),
                  CBOR.Entry(.int(HeaderLabel.kid), .bytes(kid))]).encoded()
    }

    /// The bytes that are signed: `Sig_structure = ["Signature1", protected, h'', payload]`.
    public static func toBeSigned(protectedBytes: [UInt8], payload: [UInt8]) -> [UInt8] {
        // Written directly: the same bytes as encoding the CBOR array, without building it.
        var out: [UInt8] = []
        out.reserveCapacity(protectedBytes.count + payload.count + 32)
        out.append(0x84)
        out.append(0x6a)
        out.append(contentsOf: "Signature1".utf8)
        CBOR.appendHead(major: 2, argument: UInt64(protectedBytes.count), to: &out)
        out.append(contentsOf: protectedBytes)
        out.append(0x40)
        CBOR.appendHead(major: 2, argument: UInt64(payload.count), to: &out)
        out.append(contentsOf: payload)
        return out
    }

    public var toBeSigned: [UInt8] { Self.toBeSigned(protectedBytes: protectedBytes, payload: payload) }

    /// Tag 18 around `[protected, unprotected, payload, signature]`.
    public func encoded() -> [UInt8] {
        CBOR.tagged(Self.tag, .array([.bytes(protectedBytes), .map(unprotected), .bytes(payload), .bytes(signature)]))
            .encoded()
    }

    /// Reads a COSE_Sign1, tagged (18) or untagged. Errors name what is wrong; CBOR errors stay CBOR errors.
    public init(decoding bytes: [UInt8], limits: CBORDecoder.Limits = .default) throws(TokenError) {
        if let read = bytes.withUnsafeBufferPointer({ Self.readWellFormed($0, limits: limits) }) {
            self = read
            return
        }
        try self.init(generalDecoding: bytes, limits: limits)
    }

    /// The general reading, through a ``CBOR`` tree; it names what is wrong.
    init(generalDecoding bytes: [UInt8], limits: CBORDecoder.Limits) throws(TokenError) {
        let item: CBOR
        do { item = try CBORDecoder.decode(bytes, limits: limits) } catch { throw .cbor(error) }
        var body = item
        if case .tagged(let tag, let inner) = item {
            guard tag == Self.tag else { throw .cose("tag \(tag) is not COSE_Sign1 (18)") }
            body = inner
        }
        guard case .array(let parts) = body, parts.count == 4 else {
            throw .cose("COSE_Sign1 must be an array of 4 items")
        }
        guard case .bytes(let protectedBytes) = parts[0] else { throw .cose("protected header must be a byte string") }
        guard case .map(let unprotected) = parts[1] else { throw .cose("unprotected header must be a map") }
        guard case .bytes(let payload) = parts[2] else { throw .cose("payload must be a byte string (detached payloads are not used)") }
        guard case .bytes(let signature) = parts[3] else { throw .cose("signature must be a byte string") }
        self.init(protectedBytes: protectedBytes, unprotected: unprotected, payload: payload, signature: signature)
    }

    /// The header parameters that matter here: alg and kid, read from the protected header first.
    ///
    /// Read strictly (RFC 9052 §3): a label may not appear in both headers, and a `crit` parameter
    /// must sit in the protected header and name only labels in `understood` that the protected
    /// header holds; otherwise the message is refused, as a later format may add a parameter that
    /// every reader must understand.
    public func headers(limits: CBORDecoder.Limits = .default, understood: Set<Int64> = COSESign1.tokenLabels)
        throws(TokenError) -> (algorithm: SignatureAlgorithm, kid: [UInt8]) {
        if unprotected.isEmpty, let read = protectedBytes.withUnsafeBufferPointer({ Self.readHeaders($0, limits: limits) }) {
            return read
        }
        return try generalHeaders(limits: limits, understood: understood)
    }

    /// The protected header's entries, decoded (empty for a zero-length protected header).
    public func protectedHeader(limits: CBORDecoder.Limits = .default) throws(TokenError) -> [CBOR.Entry] {
        guard !protectedBytes.isEmpty else { return [] }
        let decoded: CBOR
        do { decoded = try CBORDecoder.decode(protectedBytes, limits: limits) } catch { throw .cose("protected header: \(error)") }
        guard case .map(let entries) = decoded else { throw .cose("protected header must encode a map") }
        return entries
    }

    func generalHeaders(limits: CBORDecoder.Limits, understood: Set<Int64> = COSESign1.tokenLabels) throws(TokenError)
        -> (algorithm: SignatureAlgorithm, kid: [UInt8]) {
        let protected = try protectedHeader(limits: limits)
        for entry in unprotected where protected.contains(where: { $0.key == entry.key }) {
            throw .cose("header label \(entry.key) appears in both the protected and the unprotected header (RFC 9052 §3)")
        }
        if unprotected.contains(where: { $0.key == .int(HeaderLabel.crit) }) {
            throw .cose("crit (2) must be in the protected header (RFC 9052 §3.1)")
        }
        if let crit = protected.first(where: { $0.key == .int(HeaderLabel.crit) })?.value {
            guard case .array(let labels) = crit, !labels.isEmpty else {
                throw .cose("crit (2) must be a non-empty array of header labels")
            }
            for label in labels {
                guard let number = label.int64, understood.contains(number) else {
                    throw .cose("crit (2) names header parameter \(label), which this reader does not understand (RFC 9052 §3.1)")
                }
                guard protected.contains(where: { $0.key == label }) else {
                    throw .cose("crit (2) names header parameter \(label), which the protected header does not hold")
                }
            }
        }
        func lookup(_ label: Int64) -> CBOR? {
            protected.first(where: { $0.key == .int(label) })?.value
                ?? unprotected.first(where: { $0.key == .int(label) })?.value
        }
        guard let algValue = lookup(HeaderLabel.alg) else { throw .cose("header has no alg (1)") }
        guard let algNumber = algValue.int64, let algorithm = SignatureAlgorithm(rawValue: algNumber) else {
            throw .cose("alg \(algValue) is not supported; expected -7 (ES256), -8 (EdDSA) or -65601 (SM2)")
        }
        guard let kidValue = lookup(HeaderLabel.kid) else { throw .cose("header has no kid (4)") }
        guard case .bytes(let kid) = kidValue, !kid.isEmpty, kid.count <= 64 else {
            throw .cose("kid must be a byte string of 1 to 64 bytes")
        }
        return (algorithm, kid)
    }
}

/// One-pass reading of the COSE structure as this project writes it, in the manner of
/// ``LicenceClaims``'s: anything else — another shape, a non-empty unprotected header, headers in
/// another order, limits too strict to be sure of — returns nil, and the general decoder reads the
/// bytes again and names the problem.
extension COSESign1 {
    /// `18([bstr, {}, bstr, bstr])`, tagged or not.
    static func readWellFormed(_ bytes: UnsafeBufferPointer<UInt8>, limits: CBORDecoder.Limits) -> COSESign1? {
        // Tag, array and four items: depth 2 and six items at most.
        guard !limits.requireDeterministic, limits.maxDepth >= 2, limits.maxItems >= 6 else { return nil }
        var reader = CBORCursor(bytes: bytes, limits: limits)
        if bytes.first == 0xd2 { reader.offset = 1 }
        guard reader.length(major: 4) == 4, let protectedBytes = reader.byteString(),
              reader.offset < bytes.count, bytes[reader.offset] == 0xa0 else { return nil }
        reader.offset += 1
        guard let payload = reader.byteString(), let signature = reader.byteString(), reader.atEnd else { return nil }
        return COSESign1(protectedBytes: protectedBytes, payload: payload, signature: signature)
    }

    /// `{1: alg, 4: kid}` with a supported alg and a kid of 1 to 64 bytes.
    static func readHeaders(_ bytes: UnsafeBufferPointer<UInt8>, limits: CBORDecoder.Limits)
        -> (algorithm: SignatureAlgorithm, kid: [UInt8])? {
        guard !limits.requireDeterministic, limits.maxDepth >= 1, limits.maxItems >= 5 else { return nil }
        var reader = CBORCursor(bytes: bytes, limits: limits)
        guard reader.length(major: 5) == 2, reader.int() == HeaderLabel.alg, let number = reader.int(),
              let algorithm = SignatureAlgorithm(rawValue: number), reader.int() == HeaderLabel.kid,
              let kid = reader.byteString(), (1...64).contains(kid.count), reader.atEnd else { return nil }
        return (algorithm, kid)
    }
}
