import LicenceCore

/// The signed trust list of a key directory: every key of `trust-list.json`, signed by the newest
/// active anchor key, for the authority that key names.
public struct TrustListExport: Sendable {
    /// The default validity of a signed list: 7 days, as the EU gateway's and VICALs' lists are
    /// short-lived so that a stolen or stale list stops working by itself.
    public static let defaultValidity: Int64 = 7 * 86_400

    public let keys: KeyStore

    public init(keys: KeyStore) { self.keys = keys }

    /// The list, unsigned, for `document` under `anchor`.
    public static func list(document: TrustListDocument, anchor: TrustListDocument.Entry, now: Int64, validity: Int64,
                            statusBase: String) throws(LicenceCryptoError) -> SignedTrustList {
        var keys: [SignedTrustList.Key] = []
        for entry in document.keys {
            guard let spki = PEM.decode(entry.publicKey, label: "PUBLIC KEY"),
                  let kid = Hex.decode(entry.kid), kid.count == 8,
                  let algorithm = SignatureAlgorithm(name: entry.alg),
                  let notBefore = Timestamp.parse(entry.notBefore), let notAfter = Timestamp.parse(entry.notAfter) else {
                throw LicenceCryptoError(.trustList, "key \(entry.kid) of the trust list cannot be exported: check its fields")
            }
            keys.append(SignedTrustList.Key(kid: kid, algorithm: algorithm, role: entry.role, issuer: entry.issuer, spki: spki,
                                            notBefore: notBefore, notAfter: notAfter, state: entry.state,
                                            compromisedAt: entry.compromisedAt.flatMap(Timestamp.parse)))
        }
        return SignedTrustList(authorityCode: anchor.issuer.code, authorityName: anchor.issuer.name, issuedAt: now,
                               expires: now + validity, sequence: document.sequence ?? 0, keys: keys, statusBase: statusBase)
    }

    /// `<public URL>/v1/status-lists/`: where tokens of this registry name their status lists.
    public static func statusBase(publicURL: String) -> String {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/status-lists/"
    }

    /// The anchor key that signs: the newest active key of role `anchor`.
    public func anchor(passphrase: String?) throws(LicenceCryptoError) -> (entry: TrustListDocument.Entry, signer: any Signer) {
        let entry = try keys.activeKey(role: .anchor)
        return (entry, try keys.privateKey(for: entry, passphrase: passphrase).signer)
    }

    /// Signs the directory's current list.
    public func signed(anchor: (entry: TrustListDocument.Entry, signer: any Signer), now: Int64, validity: Int64,
                       statusBase: String) throws(LicenceCryptoError) -> (list: SignedTrustList, bytes: [UInt8]) {
        let list = try Self.list(document: keys.loadDocument(), anchor: anchor.entry, now: now, validity: validity,
                                 statusBase: statusBase)
        do { return (list, try list.signed(with: anchor.signer)) } catch let error as LicenceCryptoError { throw error } catch {
            throw LicenceCryptoError(.openssl, "cannot sign the trust list: \(error)")
        }
    }
}
