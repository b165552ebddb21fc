import LicenceCore
import LicenceCrypto
import NIOPosix
import Synchronization

/// `GET /v1/trust-list.cose`: the key directory's trust list signed by its anchor key. A signed
/// list is reused until a key changes (its sequence moves) or half its validity has passed, so that
/// what is served never lapses and requests cannot keep the server signing.
final class SignedTrustListPublisher: Sendable {
    struct Anchor: Sendable {
        var entry: TrustListDocument.Entry
        var signer: any Signer
    }

    private let anchor: Anchor?
    private let validity: Int64
    private let statusBase: String
    private struct Signed {
        var sequence: UInt64
        var issuedAt: Int64
        var bytes: [UInt8]
    }
    private let signed = Mutex<Signed?>(nil)

    init(anchor: Anchor?, validity: Int64, statusBase: String) {
        self.anchor = anchor
        self.validity = validity
        self.statusBase = statusBase
    }

    var hasAnchor: Bool { anchor != nil }

    /// The signed list for `document`, or nil without an anchor key.
    func current(_ document: TrustListDocument, now: Int64) async throws -> [UInt8]? {
        guard let anchor else { return nil }
        let sequence = document.sequence ?? 0
        let (validity, statusBase) = (self.validity, self.statusBase)
        if let reuse = signed.withLock({ signed -> [UInt8]? in
            guard let signed, signed.sequence == sequence, now - signed.issuedAt < validity / 2, now >= signed.issuedAt else { return nil }
            return signed.bytes
        }) {
            return reuse
        }
        // Signing SM2 or ES256 takes a fraction of a millisecond; it runs off the request's thread all the same.
        let bytes = try await NIOThreadPool.singleton.runIfActive {
            let list = try TrustListExport.list(document: document, anchor: anchor.entry, now: now, validity: validity,
                                                statusBase: statusBase)
            return try list.signed(with: anchor.signer)
        }
        signed.withLock { $0 = Signed(sequence: sequence, issuedAt: now, bytes: bytes) }
        return bytes
    }
}
