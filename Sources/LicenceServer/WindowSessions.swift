import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceCrypto
import LicenceStore

/// Service windows signed in as their agency: a window credential (made with `elicence windows add`,
/// shown once, kept as a hash) is exchanged for a session cookie — HttpOnly, SameSite=Strict, Secure
/// behind HTTPS — so that no key is ever kept in the page. State-changing requests of a session also
/// carry its CSRF token in `X-CSRF-Token`.
enum WindowSessions {
    static let cookie = "elicence_window"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    /// Hours a session lasts: a working day.
    static let lifetime: Int64 = 12 * 3600

    static func random(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func hash(_ secret: some StringProtocol) -> [UInt8] { WindowSecret.hash(secret) }

    /// The session cookie of a request, if any.
    static func sessionCookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookie {
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    return value.count == 64 && value.allSatisfy(\.isHexDigit) ? value : nil
                }
            }
        }
        return nil
    }

    /// Whether the request reached the service over HTTPS (directly or, as a trusted proxy says, through it).
    static func isSecure(_ request: Request, context: ServerContext, trustedProxies: Set<String>) -> Bool {
        request.uri.scheme == .https
            || (trustedProxies.contains(context.remoteAddress) && request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https")
    }
}

struct WindowSignIn: Decodable {
    var credential: String
}

struct WindowSessionAnswer: Encodable {
    var signedIn = true
    var agency: String
    var agencyName: String
    var csrfToken: String
    var expiresAt: String
}

/// `/v1/window/session`: sign in, ask who is signed in, sign out.
struct WindowController: Sendable {
    let registry: any Registry
    let agencies: AgencyDirectory
    let settings: ServerSettings
    /// Wrong credentials, per address: ten a minute.
    let wrongCredentials: RateLimiter

    init(registry: any Registry, agencies: AgencyDirectory, settings: ServerSettings) {
        self.registry = registry
        self.agencies = agencies
        self.settings = settings
        wrongCredentials = RateLimiter(perMinute: 10, trustedProxies: Set(settings.trustedProxies))
    }

    func signIn(_ request: Request, context: ServerContext) async throws -> Response {
        let body = try await JSONBody.decode(WindowSignIn.self, from: request, limit: 4096)
        let now = SystemClock().now
        guard let credential = try await registry.windowCredential(hash: WindowSessions.hash(body.credential.trimmingWhitespace())),
              let agency = try await agencies.agency(code: credential.agencyCode) else {
            let client = wrongCredentials.client(remoteAddress: context.remoteAddress, forwardedFor: request.forwardedFor)
            if let wait = wrongCredentials.take(client) {
                throw Problem(.tooManyRequests, "rate-limited", zh: "窗口凭证输错次数过多，请 \(wait) 秒后再试。",
                              en: "Too many wrong window credentials; try again in \(wait) s.", headers: [.retryAfter: String(wait)])
            }
            throw Problem(.unauthorized, "invalid-window-credential", zh: "窗口凭证无效或已撤销，请向本部门管理员索取。",
                          en: "The window credential is not valid or was revoked; ask your agency's administrator for one.")
        }
        let secret = WindowSessions.random(32)
        let session = WindowSession(agencyCode: agency.code, credential: credential.id, csrfToken: WindowSessions.random(16),
                                    expiresAt: now + WindowSessions.lifetime)
        try await registry.addWindowSession(hash: WindowSessions.hash(secret), session: session)
        var cookie = "\(WindowSessions.cookie)=\(secret); Path=/; Max-Age=\(WindowSessions.lifetime); HttpOnly; SameSite=Strict"
        if WindowSessions.isSecure(request, context: context, trustedProxies: Set(settings.trustedProxies)) { cookie += "; Secure" }
        var response = try JSONBody.response(WindowSessionAnswer(agency: agency.code, agencyName: agency.name, csrfToken: session.csrfToken,
                                                                 expiresAt: Timestamp.format(session.expiresAt)))
        response.headers[.setCookie] = cookie
        return response
    }

    func current(_ request: Request, context: ServerContext) async throws -> Response {
        guard let secret = WindowSessions.sessionCookie(request),
              let session = try await registry.windowSession(hash: WindowSessions.hash(secret), now: SystemClock().now),
              let agency = context.agency else {
            // Not signed in is an answer, not an error: the page asks on every load.
            return try JSONBody.response(["signedIn": false])
        }
        return try JSONBody.response(WindowSessionAnswer(agency: agency.code, agencyName: agency.name, csrfToken: session.csrfToken,
                                                         expiresAt: Timestamp.format(session.expiresAt)))
    }

    func signOut(_ request: Request, context: ServerContext) async throws -> Response {
        guard let secret = WindowSessions.sessionCookie(request) else {
            throw Problem(.unauthorized, "no-window-session", zh: "本窗口尚未登录，无需退出。", en: "This window is not signed in.")
        }
        try await registry.endWindowSession(hash: WindowSessions.hash(secret))
        var response = try JSONBody.response(["status": "signed out"])
        response.headers[.setCookie] = "\(WindowSessions.cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        return response
    }
}
