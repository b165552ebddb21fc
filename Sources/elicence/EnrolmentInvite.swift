import Foundation
import LicenceCore
import LicenceCrypto
import LicenceStore

/// A one-time enrolment code (一号) as the command line hands it out: the code, the link that carries
/// it to the wallet page, and when it expires. The registry keeps only the code's SHA-256.
struct EnrolmentInvite: Encodable {
    static let defaultValidDays = 14
    static let validDays = 1...90

    var holderCode: String
    var code: String
    var link: String
    var createdAt: Int64
    var expiresAt: Int64

    /// A new code for `holderCode` and its link; nothing is stored yet (``store(in:)``).
    init(holderCode: String, validDays: Int, publicURL: String, now: Int64) {
        self.holderCode = holderCode
        code = InviteCode.generate()
        link = WalletLink.make(publicURL: publicURL, code: code)
        createdAt = now
        expiresAt = now + Int64(validDays) * 86_400
    }

    /// Stores the code's hash for its holder; from then on the code enrols one device, once.
    func store(in registry: any HolderRegistry) async throws {
        try await registry.addInvite(HolderInvite(codeHash: InviteCode.hash(normalized: InviteCode.normalize(code)!),
                                                  holderCode: holderCode, createdAt: createdAt, expiresAt: expiresAt))
    }

    enum CodingKeys: String, CodingKey { case holderCode, code, link, expiresAt }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(holderCode, forKey: .holderCode)
        try container.encode(code, forKey: .code)
        try container.encode(link, forKey: .link)
        try container.encode(Timestamp.format(expiresAt), forKey: .expiresAt)
    }

    /// The lines a person reads: the code, the link, and whom it is for until when.
    var summary: String {
        """
        绑定码 enrolment code: \(code)
        钱包链接 wallet link:  \(link)
        For holder \(holderCode), one use, until \(Timestamp.format(expiresAt)). Give it to the holder alone: \
        the device enrolled with it sees all of the holder's licences.
        """
    }
}

/// The link that opens the wallet page and enrols the browser with a code:
/// `<public URL>/wallet#enrol=<code>`. The code is in the fragment, which a browser never sends to a
/// server, so it stays out of every log on the way.
enum WalletLink {
    static func make(publicURL: String, code: String) -> String {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/wallet#enrol=" + code
    }
}

/// The public URL of wallet links, chosen as `issue` chooses the base of status-list URIs
/// (``PublicURLChoice``). A link under the loopback default reaches no phone, so falling back to it
/// is always said.
enum WalletPublicURL {
    static func choose(option: String?, registry: any Registry) async throws -> String {
        let choice = PublicURLChoice(option: option, environment: ProcessInfo.processInfo.environment["ELICENCE_PUBLIC_URL"],
                                     registry: try await registry.setting(.publicURL))
        let url: String
        do { url = try StatusListURI.base(publicURL: choice.url.trimmingWhitespace()) } catch {
            throw CLIError.badInput(choice.source == .option ? error.message : "\(error.message) (it comes from \(choice.source.rawValue))")
        }
        if choice.source == .fallback {
            Terminal.warning("""
                the link names \(url), this host's loopback address, which a holder's phone cannot reach: set the service's \
                public address with `elicence registry set public-url URL` (or --public-url, ELICENCE_PUBLIC_URL)
                """)
        }
        return url
    }
}

/// `issue --invite`: one enrolment code for each holder of the licences a run put in the registry,
/// made once that licence is durable; every licence of the same holder in the run gets the same code.
struct Invitations {
    let registry: any HolderRegistry
    let publicURL: String
    let validDays: Int
    private(set) var made: [String: EnrolmentInvite] = [:]

    init(registry: any HolderRegistry, publicURL: String, validDays: Int) {
        self.registry = registry
        self.publicURL = publicURL
        self.validDays = validDays
    }

    /// The run's code for this holder, made and stored the first time it is asked for.
    mutating func invite(for holderCode: String) async throws -> EnrolmentInvite {
        if let invite = made[holderCode] { return invite }
        let invite = EnrolmentInvite(holderCode: holderCode, validDays: validDays, publicURL: publicURL, now: SystemClock().now)
        try await invite.store(in: registry)
        made[holderCode] = invite
        return invite
    }
}
