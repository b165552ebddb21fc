/// A licence type of the catalogue (目录): what a licence of this type holds and who may read it.
public struct LicenceType: Sendable, Hashable, Codable {
    public enum HolderKind: String, Sendable, Hashable, Codable, CaseIterable {
        case enterprise, citizen

        public var holderCodeKind: HolderCode.Kind { self == .enterprise ? .creditCode : .citizenID }
    }

    /// Sharing level under the 2016 interim measures on government information sharing.
    public enum Sharing: String, Sendable, Hashable, Codable, CaseIterable {
        /// 无条件共享: every registered agency may read details.
        case unconditional
        /// 有条件共享: only agencies granted this type may read details.
        case conditional
        /// 不予共享: anyone may learn valid / not valid; details are never served.
        case none
    }

    /// One extension field of the type.
    public struct Field: Sendable, Hashable, Codable {
        public var name: String
        public var required: Bool
        public init(name: String, required: Bool = true) {
            self.name = name
            self.required = required
        }
    }

    /// The authority's credit code followed by a 3-digit sequence, e.g. `11100000000013338W011`.
    public var code: String
    public var name: String
    public var holderKind: HolderKind
    public var sharing: Sharing
    public var fields: [Field]
    /// The fields put in the QR token.
    public var disclosed: [String]
    /// Default validity in years; nil means open-ended (长期).
    public var validityYears: Int?

    public init(code: String, name: String, holderKind: HolderKind, sharing: Sharing, fields: [Field],
                disclosed: [String], validityYears: Int?) {
        self.code = code
        self.name = name
        self.holderKind = holderKind
        self.sharing = sharing
        self.fields = fields
        self.disclosed = disclosed
        self.validityYears = validityYears
    }

    /// Checks the type itself: code layout, field names, disclosed ⊆ fields.
    public func validate(allowBadChecksum: Bool = false) throws(LicenceCoreError) {
        let characters = Array(code)
        guard characters.count == 21, characters.suffix(3).allSatisfy(\.isASCIIDigit) else {
            throw LicenceCoreError(.invalidField, field: "code",
                "\"\(code)\" is not a licence type code; expected the defining authority's 18-character credit code and a 3-digit sequence, such as 11100000000013338W011")
        }
        do { _ = try HolderCode(String(characters.prefix(18)), kind: .creditCode, allowBadChecksum: allowBadChecksum) } catch {
            throw error.at("code")
        }
        guard !name.isEmpty, name.count <= LicenceDocument.maxTextLength else {
            throw LicenceCoreError(.invalidField, field: "name", "must have 1 to \(LicenceDocument.maxTextLength) characters")
        }
        var seen = Set<String>()
        for field in fields {
            guard !field.name.isEmpty, field.name.count <= 64, !field.name.contains("=") else {
                throw LicenceCoreError(.invalidField, field: "field", "\"\(field.name)\" must have 1 to 64 characters and no \"=\"")
            }
            guard seen.insert(field.name).inserted else {
                throw LicenceCoreError(.invalidField, field: "field", "\"\(field.name)\" is listed twice")
            }
        }
        for name in disclosed where !seen.contains(name) {
            throw LicenceCoreError(.invalidField, field: "disclose", "\"\(name)\" is not one of the type's fields")
        }
        if let validityYears, !(1...100).contains(validityYears) {
            throw LicenceCoreError(.invalidField, field: "validityYears", "\(validityYears) is out of range; expected 1 to 100")
        }
    }

    /// The last valid day of a licence starting on `from` under the type's default validity.
    public func defaultValidUntil(from: CalendarDate) -> CalendarDate? {
        validityYears.map { from.adding(years: $0).adding(days: -1) }
    }

    /// Checks a licence against the type: holder kind, and extension fields defined and present.
    public func check(_ licence: Licence) throws(LicenceCoreError) {
        guard licence.typeCode == code else {
            throw LicenceCoreError(.invalidField, field: "type", "is \(licence.typeCode), not \(code)")
        }
        guard licence.holder.code.kind == holderKind.holderCodeKind else {
            throw LicenceCoreError(.invalidField, field: "holder.codeType",
                "\(name) is issued to \(holderKind == .enterprise ? "enterprises (001 统一社会信用代码)" : "citizens (111 公民身份号码)"), not \(licence.holder.code.kind.rawValue)")
        }
        let defined = Set(fields.map(\.name))
        for key in licence.fields.keys.sorted() where !defined.contains(key) {
            throw LicenceCoreError(.invalidField, field: "fields.\(key)",
                "is not a field of \(name) (\(code)); its fields are \(fields.map(\.name).joined(separator: ", "))")
        }
        for field in fields where field.required && (licence.fields[field.name] ?? "").isEmpty {
            throw LicenceCoreError(.missingField, field: "fields.\(field.name)", "is required by \(name) (\(code))")
        }
    }
}
