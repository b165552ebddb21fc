/// The licence JSON as the program writes it: the fields of ``LicenceDocument`` plus what issuance
/// adds (`id`, `version`, `issuedAt`, and where known `status`, `token`, `statusList`).
///
/// One shape for every output: `verify --json` (from a token's disclosed claims, with a citizen's ID
/// number masked), `sign --json`, `show`/`list --json` and HTTP answers (from the registry).
public struct LicenceJSON: Sendable, Codable, Hashable {
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
    public var status: LicenceStatus?
    public var issuedAt: String
    public var supersededBy: String?
    public var statusList: StatusReference?
    public var token: String?

    /// The data a token discloses.
    public init(claims: LicenceClaims) {
        id = claims.identifier.description
        type = claims.typeCode
        typeName = claims.typeName
        // A token signed before numbers were masked may carry a citizen's ID number in clear.
        let masked = { (text: String) in
            claims.holderCodeType == .citizenID ? HolderCode.masking(text, maskedCode: claims.holderCode) : text
        }
        number = masked(claims.number)
        holder = .init(name: claims.holderName, code: claims.holderCode, codeType: claims.holderCodeType.rawValue)
        issuer = .init(name: claims.issuerName, code: claims.issuerCode)
        validFrom = claims.validFrom.description
        validUntil = claims.validUntil?.description
        fields = claims.fields.mapValues(masked)
        version = claims.version
        issuedAt = Timestamp.format(claims.issuedAt)
        statusList = claims.status
    }

    /// A whole licence, as the registry holds it.
    public init(licence: Licence, id: LicenceIdentifier, issuedAt: Int64, status: LicenceStatus?, token: String?,
                supersededBy: String? = nil) {
        self.id = id.description
        type = licence.typeCode
        typeName = licence.typeName
        number = licence.number
        holder = .init(name: licence.holder.name, code: licence.holder.code.value, codeType: licence.holder.code.kind.rawValue)
        issuer = .init(name: licence.issuer.name, code: licence.issuer.code)
        validFrom = licence.validFrom.description
        validUntil = licence.validUntil?.description
        relatedMatter = licence.relatedMatter
        fields = licence.fields
        version = id.version
        self.status = status
        self.issuedAt = Timestamp.format(issuedAt)
        self.supersededBy = supersededBy
        self.token = token
    }
}
