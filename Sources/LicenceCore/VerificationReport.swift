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
        // The data of a token is shown only when a trusted key vouches for it: a forged or tampered
        // token must not put its invented holder on a clerk's screen.
        switch result.outcome {
        case .unknownKey, .badSignature, .issuerMismatch, .keyCompromised, .malformed: licence = nil
        default: licence = result.signingKey == nil ? nil : result.claims.map(LicenceJSON.init(claims:))
        }
    }
}
