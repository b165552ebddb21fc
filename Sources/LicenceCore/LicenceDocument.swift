/// The licence JSON of batch files, `elicence sign` and HTTP bodies, as read, before validation.
///
/// Decoding only checks JSON types; ``validated(defaultIssuer:)`` checks content and reports every
/// problem against its JSON path (`holder.code`, `validUntil`, …).
public struct LicenceDocument: Sendable, Hashable, Codable {
    public struct HolderPart: Sendable, Hashable, Codable {
        public var name: String?
        public var code: String?
        public var codeType: String?
        public init(name: String? = nil, code: String? = nil, codeType: String? = nil) {
            self.name = name
            self.code = code
            self.codeType = codeType
        }
    }

    public struct IssuerPart: Sendable, Hashable, Codable {
        public var name: String?
        public var code: String?
        public init(name: String? = nil, code: String? = nil) {
            self.name = name
            self.code = code
        }
    }

    /// How `validUntil` was given: absent (use the default), `null` (open-ended) or a date.
    public enum ValidUntil: Sendable, Hashable {
        case absent
        case openEnded
        case date(String)
    }

    public var type: String?
    public var typeName: String?
    public var number: String?
    public var holder: HolderPart?
    public var issuer: IssuerPart?
    public var validFrom: String?
    public var validUntil: ValidUntil
    public var relatedMatter: String?
    public var fields: [String: String]?

    public init(type: String? = nil, typeName: String? = nil, number: String? = nil, holder: HolderPart? = nil,
                issuer: IssuerPart? = nil, validFrom: String? = nil, validUntil: ValidUntil = .absent,
                relatedMatter: String? = nil, fields: [String: String]? = nil) {
        self.type = type
        self.typeName = typeName
        self.number = number
        self.holder = holder
        self.issuer = issuer
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.relatedMatter = relatedMatter
        self.fields = fields
    }

    enum CodingKeys: String, CodingKey {
        case type, typeName, number, holder, issuer, validFrom, validUntil, relatedMatter, fields
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type)
        typeName = try c.decodeIfPresent(String.self, forKey: .typeName)
        number = try c.decodeIfPresent(String.self, forKey: .number)
        holder = try c.decodeIfPresent(HolderPart.self, forKey: .holder)
        issuer = try c.decodeIfPresent(IssuerPart.self, forKey: .issuer)
        validFrom = try c.decodeIfPresent(String.self, forKey: .validFrom)
        if !c.contains(.validUntil) {
            validUntil = .absent
        } else if try c.decodeNil(forKey: .validUntil) {
            validUntil = .openEnded
        } else {
            validUntil = .date(try c.decode(String.self, forKey: .validUntil))
        }
        relatedMatter = try c.decodeIfPresent(String.self, forKey: .relatedMatter)
        fields = try c.decodeIfPresent([String: String].self, forKey: .fields)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(type, forKey: .type)
        try c.encodeIfPresent(typeName, forKey: .typeName)
        try c.encodeIfPresent(number, forKey: .number)
        try c.encodeIfPresent(holder, forKey: .holder)
        try c.encodeIfPresent(issuer, forKey: .issuer)
        try c.encodeIfPresent(validFrom, forKey: .validFrom)
        switch validUntil {
        case .absent: break
        case .openEnded: try c.encodeNil(forKey: .validUntil)
        case .date(let text): try c.encode(text, forKey: .validUntil)
        }
        try c.encodeIfPresent(relatedMatter, forKey: .relatedMatter)
        try c.encodeIfPresent(fields, forKey: .fields)
    }

    /// Limits on text in a licence, so one licence always fits a QR code.
    public static let maxTextLength = 256

    /// Checks every field and builds the licence.
    /// - Parameters:
    ///   - defaultIssuer: the issuer to use when the document names none (the signing key's).
    ///   - defaultValidUntil: used when `validUntil` is absent; nil there means open-ended.
    ///   - allowBadChecksum: accept a credit code whose only fault is its check character.
    public func validated(defaultIssuer: Issuer? = nil, defaultValidUntil: (CalendarDate) -> CalendarDate? = { _ in nil },
                          allowBadChecksum: Bool = false) throws(LicenceCoreError) -> Licence {
        let typeCode = try Self.required(type, "type")
        guard (4...32).contains(typeCode.count), typeCode.allSatisfy({ ISO7064.alphanumeric.contains($0) }) else {
            throw LicenceCoreError(.invalidField, field: "type",
                "\"\(typeCode)\" is not a licence type code; expected 4 to 32 digits and upper-case letters, such as 11100000000013338W011")
        }
        let typeName = try Self.required(self.typeName, "typeName")
        let number = try Self.required(self.number, "number")
        let holderName = try Self.required(holder?.name, "holder.name")
        let holderCodeText = try Self.required(holder?.code, "holder.code")
        let holderCode: HolderCode
        do throws(LicenceCoreError) {
            if let codeType = holder?.codeType {
                guard HolderCode.Kind(rawValue: codeType) != nil else {
                    throw LicenceCoreError(.invalidField, field: "holder.codeType",
                        "\"\(codeType)\" is not a holder-code type; expected 001 (统一社会信用代码) or 111 (公民身份号码)")
                }
                holderCode = try HolderCode(holderCodeText, type: codeType, allowBadChecksum: allowBadChecksum)
            } else {
                holderCode = try Self.inferHolderCode(holderCodeText, allowBadChecksum: allowBadChecksum)
            }
        } catch {
            throw error.field == nil ? error.at("holder.code") : error
        }
        let issuer: Issuer
        if let part = self.issuer {
            let code = try Self.required(part.code, "issuer.code")
            do {
                _ = try HolderCode(code, kind: .creditCode, allowBadChecksum: allowBadChecksum)
            } catch {
                throw error.at("issuer.code")
            }
            if let defaultIssuer, defaultIssuer.code != code.uppercased() {
                throw LicenceCoreError(.invalidField, field: "issuer.code",
                    "\(code) is not the agency of the signing key (\(defaultIssuer.code) \(defaultIssuer.name))")
            }
            issuer = Issuer(code: code.uppercased(), name: try Self.required(part.name ?? defaultIssuer?.name, "issuer.name"))
        } else if let defaultIssuer {
            issuer = defaultIssuer
        } else {
            throw LicenceCoreError(.missingField, field: "issuer", "is missing and no signing key names the issuing agency")
        }
        let validFromText = try Self.required(validFrom, "validFrom")
        let from: CalendarDate
        do { from = try CalendarDate(parsing: validFromText) } catch { throw error.at("validFrom") }
        let until: CalendarDate?
        switch validUntil {
        case .absent: until = defaultValidUntil(from)
        case .openEnded: until = nil
        case .date(let text):
            do { until = try CalendarDate(parsing: text) } catch { throw error.at("validUntil") }
        }
        if let until, until < from {
            throw LicenceCoreError(.invalidDate, field: "validUntil", "\(until) is before validFrom \(from)")
        }
        let fields = self.fields ?? [:]
        for (key, value) in fields {
            guard !key.isEmpty, key.count <= 64 else {
                throw LicenceCoreError(.invalidField, field: "fields", "field name \"\(key)\" must have 1 to 64 characters")
            }
            guard value.count <= Self.maxTextLength else {
                throw LicenceCoreError(.invalidField, field: "fields.\(key)", "has \(value.count) characters; at most \(Self.maxTextLength) fit a licence")
            }
        }
        for (path, value) in [("typeName", typeName), ("number", number), ("holder.name", holderName),
                              ("issuer.name", issuer.name), ("relatedMatter", relatedMatter ?? "")]
        where value.count > Self.maxTextLength {
            throw LicenceCoreError(.invalidField, field: path, "has \(value.count) characters; at most \(Self.maxTextLength) fit a licence")
        }
        return Licence(typeCode: typeCode, typeName: typeName, number: number,
                       holder: Holder(name: holderName, code: holderCode), issuer: issuer,
                       validFrom: from, validUntil: until, relatedMatter: relatedMatter, fields: fields)
    }

    private static func required(_ value: String?, _ path: String) throws(LicenceCoreError) -> String {
        guard let value else { throw LicenceCoreError(.missingField, field: path, "is missing") }
        let trimmed = value.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw LicenceCoreError(.missingField, field: path, "is empty") }
        return trimmed
    }

    /// Without `codeType`, a code is taken as whichever kind it validates as; a code valid as both
    /// or neither needs `codeType`.
    private static func inferHolderCode(_ text: String, allowBadChecksum: Bool) throws(LicenceCoreError) -> HolderCode {
        let asCitizen = try? HolderCode(text, kind: .citizenID)
        let asCredit = try? HolderCode(text, kind: .creditCode)
        switch (asCredit, asCitizen) {
        case (let credit?, nil): return credit
        case (nil, let citizen?): return citizen
        case (.some, .some):
            throw LicenceCoreError(.missingField, field: "holder.codeType",
                "is needed: \(text) is valid both as a credit code and as an ID number; give 001 or 111")
        case (nil, nil):
            return try HolderCode.likeliest(text, allowBadChecksum: allowBadChecksum)
        }
    }
}

extension String {
    /// Without leading and trailing white space (any Unicode white space).
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }
}
