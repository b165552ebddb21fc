/// What a licence token says: the CWT claims (RFC 8392) plus the licence claim −65537.
///
/// Claim keys: `iss` 1, `exp` 4, `nbf` 5, `iat` 6, `cti` 7 (the licence identifier as UTF-8),
/// `status` 65535 (`{"status_list": {"idx", "uri"}}`) and −65537, a map with keys 1–11 holding the
/// disclosed licence data. The article "Token format" in the documentation has the full layout.
public struct LicenceClaims: Sendable, Hashable {
    public enum Key {
        public static let iss: Int64 = 1
        public static let exp: Int64 = 4
        public static let nbf: Int64 = 5
        public static let iat: Int64 = 6
        public static let cti: Int64 = 7
        public static let status: Int64 = 65535
        public static let licence: Int64 = -65537
    }

    public enum LicenceKey {
        public static let typeCode: Int64 = 1
        public static let typeName: Int64 = 2
        public static let number: Int64 = 3
        public static let holderName: Int64 = 4
        public static let holderCode: Int64 = 5
        public static let holderCodeType: Int64 = 6
        public static let issuerName: Int64 = 7
        public static let validFrom: Int64 = 8
        public static let validUntil: Int64 = 9
        public static let version: Int64 = 10
        public static let fields: Int64 = 11
    }

    /// `iss`: the issuing agency's credit code.
    public var issuerCode: String
    public var notBefore: Int64
    /// nil when the licence is open-ended.
    public var expires: Int64?
    public var issuedAt: Int64
    public var identifier: LicenceIdentifier
    public var status: StatusReference?

    public var typeCode: String
    public var typeName: String
    public var number: String
    public var holderName: String
    /// As disclosed: citizen ID numbers are masked.
    public var holderCode: String
    public var holderCodeType: HolderCode.Kind
    public var issuerName: String
    public var validFrom: CalendarDate
    public var validUntil: CalendarDate?
    public var version: Int
    public var fields: [String: String]

    public init(issuerCode: String, notBefore: Int64, expires: Int64?, issuedAt: Int64, identifier: LicenceIdentifier,
                status: StatusReference?, typeCode: String, typeName: String, number: String, holderName: String,
                holderCode: String, holderCodeType: HolderCode.Kind, issuerName: String, validFrom: CalendarDate,
                validUntil: CalendarDate?, version: Int, fields: [String: String]) {
        self.issuerCode = issuerCode
        self.notBefore = notBefore
        self.expires = expires
        self.issuedAt = issuedAt
        self.identifier = identifier
        self.status = status
        self.typeCode = typeCode
        self.typeName = typeName
        self.number = number
        self.holderName = holderName
        self.holderCode = holderCode
        self.holderCodeType = holderCodeType
        self.issuerName = issuerName
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.version = version
        self.fields = fields
    }

    /// The claims for `licence`, disclosing only the fields named in `disclosedFields` (all when nil)
    /// and masking a citizen's ID number — as the holder code, and wherever the number or a field
    /// repeats it.
    public init(licence: Licence, identifier: LicenceIdentifier, issuedAt: Int64, status: StatusReference?,
                disclosedFields: Set<String>? = nil) {
        self.init(issuerCode: licence.issuer.code, notBefore: licence.notBefore, expires: licence.expires,
                  issuedAt: issuedAt, identifier: identifier, status: status, typeCode: licence.typeCode,
                  typeName: licence.typeName, number: licence.holder.code.masking(licence.number), holderName: licence.holder.name,
                  holderCode: licence.holder.code.disclosedForm, holderCodeType: licence.holder.code.kind,
                  issuerName: licence.issuer.name, validFrom: licence.validFrom, validUntil: licence.validUntil,
                  version: identifier.version,
                  fields: (disclosedFields.map { names in licence.fields.filter { names.contains($0.key) } } ?? licence.fields)
                    .mapValues { licence.holder.code.masking($0) })
    }

    public var cbor: CBOR {
        var licenceEntries: [CBOR.Entry] = [
            .init(.int(LicenceKey.typeCode), .text(typeCode)),
            .init(.int(LicenceKey.typeName), .text(typeName)),
            .init(.int(LicenceKey.number), .text(number)),
            .init(.int(LicenceKey.holderName), .text(holderName)),
            .init(.int(LicenceKey.holderCode), .text(holderCode)),
            .init(.int(LicenceKey.holderCodeType), .text(holderCodeType.rawValue)),
            .init(.int(LicenceKey.issuerName), .text(issuerName)),
            .init(.int(LicenceKey.validFrom), .text(validFrom.description)),
            .init(.int(LicenceKey.validUntil), validUntil.map { .text($0.description) } ?? .null),
            .init(.int(LicenceKey.version), .int(Int64(version))),
        ]
        licenceEntries.append(.init(.int(LicenceKey.fields),
                                    .map(fields.map { CBOR.Entry(.text($0.key), .text($0.value)) })))
        var entries: [CBOR.Entry] = [
            .init(.int(Key.iss), .text(issuerCode)),
            .init(.int(Key.nbf), .int(notBefore)),
            .init(.int(Key.iat), .int(issuedAt)),
            .init(.int(Key.cti), .bytes(Array(identifier.description.utf8))),
            .init(.int(Key.licence), .map(licenceEntries)),
        ]
        if let expires { entries.append(.init(.int(Key.exp), .int(expires))) }
        if let status {
            entries.append(.init(.int(Key.status), .map([
                .init(.text("status_list"), .map([
                    .init(.text("idx"), .unsigned(status.index)),
                    .init(.text("uri"), .text(status.uri)),
                ])),
            ])))
        }
        return .map(entries)
    }

    /// The deterministic CBOR payload.
    public var encoded: [UInt8] { cbor.encoded() }

    /// Reads claims from a decoded payload. Every failure names the claim.
    public init(cbor: CBOR) throws(TokenError) {
        guard case .map = cbor else { throw .claims("payload must be a CBOR map of claims") }
        func claim(_ key: Int64, _ name: String) throws(TokenError) -> CBOR {
            guard let value = cbor[.int(key)] else { throw .claims("claim \(name) (\(key)) is missing") }
            return value
        }
        func integer(_ value: CBOR, _ name: String) throws(TokenError) -> Int64 {
            guard let n = value.int64 else { throw .claims("claim \(name) must be an integer") }
            return n
        }
        guard let iss = try claim(Key.iss, "iss").textValue else { throw .claims("claim iss must be text") }
        issuerCode = iss
        notBefore = try integer(try claim(Key.nbf, "nbf"), "nbf")
        issuedAt = try integer(try claim(Key.iat, "iat"), "iat")
        expires = try cbor[.int(Key.exp)].map { v throws(TokenError) in try integer(v, "exp") }
        guard let ctiBytes = try claim(Key.cti, "cti").bytesValue,
              let ctiText = UTF8Text.string(ctiBytes) else {
            throw .claims("claim cti must be a byte string holding the licence identifier")
        }
        do { identifier = try LicenceIdentifier(parsing: ctiText) } catch { throw .claims("claim cti: \(error.message)") }
        if let statusClaim = cbor[.int(Key.status)] {
            guard let list = statusClaim[.text("status_list")], let index = list[.text("idx")]?.uint64,
                  let uri = list[.text("uri")]?.textValue else {
                throw .claims("claim status must be {\"status_list\": {\"idx\": uint, \"uri\": text}}")
            }
            status = StatusReference(index: index, uri: uri)
        } else {
            status = nil
        }
        let licence = try claim(Key.licence, "licence")
        guard case .map = licence else { throw .claims("claim -65537 must be a map") }
        func text(_ key: Int64, _ name: String) throws(TokenError) -> String {
            guard let value = licence[.int(key)]?.textValue else { throw .claims("licence claim \(key) (\(name)) must be text") }
            return value
        }
        typeCode = try text(LicenceKey.typeCode, "type code")
        typeName = try text(LicenceKey.typeName, "type name")
        number = try text(LicenceKey.number, "number")
        holderName = try text(LicenceKey.holderName, "holder name")
        holderCode = try text(LicenceKey.holderCode, "holder code")
        guard let kind = HolderCode.Kind(rawValue: try text(LicenceKey.holderCodeType, "holder-code type")) else {
            throw .claims("licence claim 6 (holder-code type) must be 001 or 111")
        }
        holderCodeType = kind
        issuerName = try text(LicenceKey.issuerName, "issuer name")
        let fromText = try text(LicenceKey.validFrom, "validFrom")
        do { validFrom = try CalendarDate(parsing: fromText) } catch { throw .claims("licence claim 8 (validFrom): \(error.message)") }
        switch licence[.int(LicenceKey.validUntil)] {
        case .null?: validUntil = nil
        case .text(let t)?:
            do { validUntil = try CalendarDate(parsing: t) } catch { throw .claims("licence claim 9 (validUntil): \(error.message)") }
        default: throw .claims("licence claim 9 (validUntil) must be a date or null")
        }
        guard let v = licence[.int(LicenceKey.version)]?.int64, (1...999).contains(v) else {
            throw .claims("licence claim 10 (version) must be an integer from 1 to 999")
        }
        version = Int(v)
        var fields: [String: String] = [:]
        if let fieldMap = licence[.int(LicenceKey.fields)] {
            guard let entries = fieldMap.mapEntries else { throw .claims("licence claim 11 (fields) must be a map") }
            for entry in entries {
                guard let key = entry.key.textValue, let value = entry.value.textValue else {
                    throw .claims("licence claim 11 (fields) must map text to text")
                }
                fields[key] = value
            }
        }
        self.fields = fields
        try checkConsistency()
    }

    /// The parts of a token that repeat each other must agree.
    func checkConsistency() throws(TokenError) {
        guard identifier.issuerCode == issuerCode else {
            throw .claims("cti names issuer \(identifier.issuerCode) but iss is \(issuerCode)")
        }
        guard identifier.typeCode == typeCode else {
            throw .claims("cti names type \(identifier.typeCode) but the licence claim says \(typeCode)")
        }
        guard identifier.version == version else {
            throw .claims("cti has version \(identifier.version) but the licence claim says \(version)")
        }
        if let expires, expires <= notBefore { throw .claims("exp is not after nbf") }
    }
}
