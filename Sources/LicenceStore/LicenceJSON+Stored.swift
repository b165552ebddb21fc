import LicenceCore

extension LicenceJSON {
    /// The licence JSON of a stored licence, with its status and token. The status-list reference is
    /// read from the signed claims, straight from the COSE bytes.
    public init(_ stored: StoredLicence) {
        self.init(licence: stored.licence, id: stored.id, issuedAt: stored.issuedAt, status: stored.status,
                  token: stored.token, supersededBy: stored.supersededBy)
        if let sign1 = try? COSESign1(decoding: stored.signedBytes), let claims = try? LicenceClaims(payload: sign1.payload, limits: .default) {
            statusList = claims.status
        }
    }
}
