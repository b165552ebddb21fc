/// Reading claims straight from the payload bytes.
///
/// Nearly every payload a verifier sees is one this project wrote: definite lengths, the known
/// keys, each once. Such a payload is read in one pass without building a ``CBOR`` tree. Anything
/// else — indefinite lengths, tags, unknown or repeated keys, a value of the wrong kind, a check
/// that fails — makes this reader give up, and the general decoder reads the payload again and
/// names the problem; so the one-pass reader never accepts what the general one would refuse.
extension LicenceClaims {
    public init(payload: [UInt8], limits: CBORDecoder.Limits) throws(TokenError) {
        if !limits.requireDeterministic,
           let claims = payload.withUnsafeBufferPointer({ Self.readWellFormed($0, limits: limits) }) {
            self = claims
            return
        }
        let cbor: CBOR
        do { cbor = try CBORDecoder.decode(payload, limits: limits) } catch { throw .cbor(error) }
        try self.init(cbor: cbor)
    }

    static func readWellFormed(_ bytes: UnsafeBufferPointer<UInt8>, limits: CBORDecoder.Limits) -> LicenceClaims? {
        // The claims nest three deep (payload, licence claim, fields); a stricter limit is the
        // general decoder's to enforce.
        guard limits.maxDepth >= 3 else { return nil }
        var reader = CBORCursor(bytes: bytes, limits: limits)
        guard let count = reader.length(major: 5) else { return nil }
        var seen: UInt8 = 0
        func once(_ bit: UInt8) -> Bool {
            defer { seen |= bit }
            return seen & bit == 0
        }
        var iss: String?, nbf: Int64?, iat: Int64?, exp: Int64?, cti: String?, status: StatusReference?
        var licence: LicenceFields?
        for _ in 0..<count {
            guard let key = reader.int() else { return nil }
            switch key {
            case Key.iss: guard once(1), let v = reader.text() else { return nil }; iss = v
            case Key.exp: guard once(2), let v = reader.int() else { return nil }; exp = v
            case Key.nbf: guard once(4), let v = reader.int() else { return nil }; nbf = v
            case Key.iat: guard once(8), let v = reader.int() else { return nil }; iat = v
            case Key.cti: guard once(16), let v = reader.byteText() else { return nil }; cti = v
            case Key.status: guard once(32), let v = reader.statusReference() else { return nil }; status = v
            case Key.licence: guard once(64), let v = reader.licenceFields() else { return nil }; licence = v
            default: return nil
            }
        }
        guard reader.atEnd, let iss, let nbf, let iat, let cti, let licence,
              let identifier = try? LicenceIdentifier(parsing: cti),
              let kind = HolderCode.Kind(rawValue: licence.holderCodeType),
              let validFrom = try? CalendarDate(parsing: licence.validFrom),
              (1...999).contains(licence.version) else { return nil }
        var validUntil: CalendarDate? = nil
        if let text = licence.validUntil {
            guard let date = try? CalendarDate(parsing: text) else { return nil }
            validUntil = date
        }
        let claims = LicenceClaims(
            issuerCode: iss, notBefore: nbf, expires: exp, issuedAt: iat, identifier: identifier, status: status,
            typeCode: licence.typeCode, typeName: licence.typeName, number: licence.number,
            holderName: licence.holderName, holderCode: licence.holderCode, holderCodeType: kind,
            issuerName: licence.issuerName, validFrom: validFrom, validUntil: validUntil,
            version: Int(licence.version), fields: licence.fields)
        guard (try? claims.checkConsistency()) != nil else { return nil }
        return claims
    }
}

/// The licence claim (−65537) as read, before its texts are checked.
struct LicenceFields {
    var typeCode = "", typeName = "", number = "", holderName = "", holderCode = "", holderCodeType = ""
    var issuerName = "", validFrom = ""
    var validUntil: String?
    var version: Int64 = 0
    var fields: [String: String] = [:]
}

/// A forward-only reader of definite-length CBOR over bytes, for ``LicenceClaims``'s one-pass
/// read. Every method returns nil for what it does not expect, and the caller gives up.
struct CBORCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: CBORDecoder.Limits
    var offset = 0
    var items = 0

    init(bytes: UnsafeBufferPointer<UInt8>, limits: CBORDecoder.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    var atEnd: Bool { offset == bytes.count }

    /// The next head: major type and argument. Nil for indefinite lengths, reserved values and
    /// the end of the input, and past the item limit.
    mutating func head() -> (major: UInt8, argument: UInt64)? {
        guard offset < bytes.count else { return nil }
        items += 1
        guard items <= limits.maxItems else { return nil }
        let initial = bytes[offset]
        offset += 1
        let minor = initial & 0x1f
        switch minor {
        case 0..<24:
            return (initial >> 5, UInt64(minor))
        case 24...27:
            let width = 1 << Int(minor - 24)
            guard bytes.count - offset >= width else { return nil }
            var value: UInt64 = 0
            for index in offset..<offset + width { value = value << 8 | UInt64(bytes[index]) }
            offset += width
            return (initial >> 5, value)
        default:
            return nil
        }
    }

    /// The element count of an array or map head (`major` 4 or 5), bounded by what the input can hold.
    mutating func length(major: UInt8) -> Int? {
        guard let (m, n) = head(), m == major, n <= UInt64(limits.maxLength), n <= UInt64(bytes.count - offset) else {
            return nil
        }
        return Int(n)
    }

    mutating func int() -> Int64? {
        guard let (major, n) = head(), n <= UInt64(Int64.max) else { return nil }
        switch major {
        case 0: return Int64(n)
        case 1: return -1 - Int64(n)
        default: return nil
        }
    }

    mutating func unsigned() -> UInt64? {
        guard let (major, n) = head(), major == 0 else { return nil }
        return n
    }

    /// The content of the next string of major type `major` (2 bytes, 3 text), within the limits.
    private mutating func content(major: UInt8) -> UnsafeBufferPointer<UInt8>? {
        guard let (m, n) = head(), m == major, n <= UInt64(limits.maxLength), n <= UInt64(bytes.count - offset) else {
            return nil
        }
        let start = offset
        offset += Int(n)
        return UnsafeBufferPointer(rebasing: bytes[start..<offset])
    }

    private mutating func string(major: UInt8) -> String? { content(major: major).flatMap(UTF8Text.string) }

    mutating func text() -> String? { string(major: 3) }

    /// A byte string's bytes.
    mutating func byteString() -> [UInt8]? { content(major: 2).map(Array.init) }

    /// A byte string holding UTF-8 text.
    mutating func byteText() -> String? { string(major: 2) }

    /// Text, or nil inside the result for CBOR null.
    mutating func textOrNull() -> String?? {
        guard offset < bytes.count else { return nil }
        if bytes[offset] == 0xf6 {
            guard head() != nil else { return nil }
            return .some(nil)
        }
        return text().map { .some($0) }
    }

    /// `{"status_list": {"idx": uint, "uri": text}}` with nothing else.
    mutating func statusReference() -> StatusReference? {
        guard length(major: 5) == 1, text() == "status_list", let count = length(major: 5), count == 2 else { return nil }
        var index: UInt64?, uri: String?
        for _ in 0..<2 {
            switch text() {
            case "idx"?: guard index == nil, let v = unsigned() else { return nil }; index = v
            case "uri"?: guard uri == nil, let v = text() else { return nil }; uri = v
            default: return nil
            }
        }
        guard let index, let uri else { return nil }
        return StatusReference(index: index, uri: uri)
    }

    /// The licence map: keys 1–11, each once, with fields 9 (validUntil) and 11 (fields) optional
    /// only as the general reader allows.
    mutating func licenceFields() -> LicenceFields? {
        guard let count = length(major: 5) else { return nil }
        var fields = LicenceFields()
        var seen: UInt16 = 0
        for _ in 0..<count {
            guard let key = int(), (1...11).contains(key) else { return nil }
            let bit = UInt16(1) << UInt16(key)
            guard seen & bit == 0 else { return nil }
            seen |= bit
            switch key {
            case LicenceClaims.LicenceKey.validUntil:
                guard let value = textOrNull() else { return nil }
                fields.validUntil = value
            case LicenceClaims.LicenceKey.version:
                guard let value = int() else { return nil }
                fields.version = value
            case LicenceClaims.LicenceKey.fields:
                guard let entries = length(major: 5) else { return nil }
                fields.fields.reserveCapacity(entries)
                for _ in 0..<entries {
                    guard let name = text(), let value = text(), fields.fields.updateValue(value, forKey: name) == nil else {
                        return nil
                    }
                }
            default:
                guard let value = text() else { return nil }
                switch key {
                case 1: fields.typeCode = value
                case 2: fields.typeName = value
                case 3: fields.number = value
                case 4: fields.holderName = value
                case 5: fields.holderCode = value
                case 6: fields.holderCodeType = value
                case 7: fields.issuerName = value
                default: fields.validFrom = value
                }
            }
        }
        // Keys 1–10 are required; 11 may be absent.
        guard seen & 0b0111_1111_1110 == 0b0111_1111_1110 else { return nil }
        return fields
    }
}
