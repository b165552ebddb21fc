/// The JSON form of a verification answer, shared by the CLI (`verify --json`) and the HTTP API:
/// `{"valid", "outcome", "layer"?, "message": {"zh", "en"}, "statusChecked", "licence"?}`.
public struct VerificationReport: Sendable, Codable, Hashable {
    /// The disclosed licence data as JSON (the licence JSON with `id`, `version` and `issuedAt`).
    public struct LicenceView: Sendable, Codable, Hashable {
        public var id: String
        public var type: String
        public var typeName: String
        public var number: String
        public var holder: LicenceDocument.HolderPart
        public var issuer: LicenceDocument.IssuerPart
        public var validFrom: String
        /// nil when open-ended (长期); written as `null`.
        @EncodedAsNull public var validUntil: String?
        public var version: Int
        public var issuedAt: String
        public var fields: [String: String]
        public var statusList: StatusReference?

        public init(_ claims: LicenceClaims) {
            id = claims.identifier.description
            type = claims.typeCode
            typeName = claims.typeName
            number = claims.number
            holder = .init(name: claims.holderName, code: claims.holderCode, codeType: claims.holderCodeType.rawValue)
            issuer = .init(name: claims.issuerName, code: claims.issuerCode)
            validFrom = claims.validFrom.description
            validUntil = claims.validUntil?.description
            version = claims.version
            issuedAt = Timestamp.format(claims.issuedAt)
            fields = claims.fields
            statusList = claims.status
        }
    }

    public var valid: Bool
    public var outcome: String
    public var layer: TokenLayer?
    public var detail: String?
    public var message: BilingualMessage
    public var statusChecked: Bool
    public var kid: String?
    public var alg: String?
    public var licence: LicenceView?

    public init(_ result: VerificationResult) {
        valid = result.valid
        outcome = result.outcome.code
        if case .malformed(let layer, let detail) = result.outcome {
            self.layer = layer
            self.detail = detail
        }
        message = result.message
        statusChecked = result.statusChecked
        kid = result.kid.map { Hex.encode($0) }
        alg = result.algorithm?.name
        licence = result.claims.map(LicenceView.init)
    }
}
