import LicenceCore

extension LicenceJSON {
    /// The licence JSON of a stored licence, with its status and token.
    public init(_ stored: StoredLicence) {
        self.init(licence: stored.licence, id: stored.id, issuedAt: stored.issuedAt, status: stored.status,
                  token: stored.token, supersededBy: stored.supersededBy)
        statusList = try? LicenceToken.decode(stored.token).claims.status
    }
}
