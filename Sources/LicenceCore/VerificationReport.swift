/// The JSON form of a verification answer, shared by the CLI (`verify --json`) and the HTTP API:
/// `{"valid", "outcome", "layer"?, "message": {"zh", "en"}, "statusChecked", "licence"?}`.
public struct VerificationReport: Sendable, Codable, Hashable {
    public var valid: Bool
    public var outcome: String
    public var layer: TokenLayer?
    public var detail: String?
    public var message: BilingualMessage
    public var statusChecked: Bool
    public var kid: String?
    public var alg: String?
    /// The disclosed licence data.
    public var licence: LicenceJSON?
    /// Online answers: where the licence's issuance stands in the registry's transparency log.
    public var log: LogPosition?
    /// Online answers for a revoked or suspended licence: when its status changed (ISO 8601).
    public var statusSince: String?
    /// Answers to a presentation code: the device that showed it, when, and the fields disclosed.
    public var presentation: Presentation?
    /// The imported authority (another province) whose trust list vouches for the signing key, and
    /// whose status list answered when `statusChecked`; absent for the verifier's own licences.
    public var authority: Authority?

    public struct Authority: Sendable, Codable, Hashable {
        /// The name it was imported under.
        public var name: String
        public var code: String
        public var displayName: String
    }

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
        authority = result.authority.map { Authority(name: $0.name, code: $0.code, displayName: $0.displayName) }
        // The data of a token is shown only when a trusted key vouches for it: a forged or tampered
        // token must not put its invented holder on a clerk's screen.
        switch result.outcome {
        case .unknownKey, .badSignature, .issuerMismatch, .keyCompromised, .keyNotValid, .malformed: licence = nil
        default: licence = result.signingKey == nil ? nil : result.claims.map(LicenceJSON.init(claims:))
        }
    }
}

/// A licence's issuance leaf in the transparency log, and the size of the tree of the newest
/// checkpoint, against which `GET /v1/licences/{id}/log-proof` proves it.
public struct LogPosition: Sendable, Codable, Hashable {
    public var index: Int64
    public var treeSize: Int64

    public init(index: Int64, treeSize: Int64) {
        self.index = index
        self.treeSize = treeSize
    }
}

/// How a licence was presented: by which enrolled device, when, and with which fields.
public struct Presentation: Sendable, Codable, Hashable {
    public var device: String
    /// ISO 8601.
    public var presentedAt: String
    public var disclosed: [String]

    public init(device: String, presentedAt: String, disclosed: [String]) {
        self.device = device
        self.presentedAt = presentedAt
        self.disclosed = disclosed
    }
}
