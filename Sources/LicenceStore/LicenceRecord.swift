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
    /// nil when open-ended (长期); written as `null`.
    @EncodedAsNull public var validUntil: String?
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
}
