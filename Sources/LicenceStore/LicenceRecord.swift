import LicenceCore

/// The licence JSON of a stored licence: the fields of the licence JSON plus `id`, `version`,
/// `status`, `issuedAt` and `token`.
public struct LicenceRecord: Sendable, Codable, Hashable {
    public var id: String
    public var type: String
    public var typeName: String
    public var number: String
    public var holder: LicenceDocument.HolderPart
    public var issuer: LicenceDocument.IssuerPart
    public var validFrom: String
    public var validUntil: String?
    public var relatedMatter: String?
    public var fields: [String: String]
    public var version: Int
    public var status: LicenceStatus
    public var issuedAt: String
    public var supersededBy: String?
    public var token: String

    public init(_ stored: StoredLicence) {
        let licence = stored.licence
        id = stored.id.description
        type = licence.typeCode
        typeName = licence.typeName
        number = licence.number
        holder = .init(name: licence.holder.name, code: licence.holder.code.value, codeType: licence.holder.code.kind.rawValue)
        issuer = .init(name: licence.issuer.name, code: licence.issuer.code)
        validFrom = licence.validFrom.description
        validUntil = licence.validUntil?.description
        relatedMatter = licence.relatedMatter
        fields = licence.fields
        version = stored.id.version
        status = stored.status
        issuedAt = Timestamp.format(stored.issuedAt)
        supersededBy = stored.supersededBy
        token = stored.token
    }

    enum CodingKeys: String, CodingKey {
        case id, type, typeName, number, holder, issuer, validFrom, validUntil, relatedMatter, fields, version, status, issuedAt,
             supersededBy, token
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(typeName, forKey: .typeName)
        try c.encode(number, forKey: .number)
        try c.encode(holder, forKey: .holder)
        try c.encode(issuer, forKey: .issuer)
        try c.encode(validFrom, forKey: .validFrom)
        try c.encode(validUntil, forKey: .validUntil)  // null when open-ended
        try c.encodeIfPresent(relatedMatter, forKey: .relatedMatter)
        try c.encode(fields, forKey: .fields)
        try c.encode(version, forKey: .version)
        try c.encode(status, forKey: .status)
        try c.encode(issuedAt, forKey: .issuedAt)
        try c.encodeIfPresent(supersededBy, forKey: .supersededBy)
        try c.encode(token, forKey: .token)
    }
}
