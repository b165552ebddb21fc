import HTTPTypes
import Hummingbird
import LicenceCrypto
import LicenceStore

/// Reads `Authorization: Bearer KEY`, or a signed-in service window's session cookie. A valid key or
/// session sets the context's agency; a wrong or revoked key is refused on every route, so a revoked
/// agency is turned away at once. A session's state-changing requests must carry its CSRF token.
struct AgencyAuthenticationMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let agencies: AgencyDirectory
    let registry: any HolderRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let cause = request.headers[Request.useCauseField], cause.utf8.count > Request.maxUseCauseLength {
            throw Problem.invalidHeader("X-Use-Cause", zh: "长 \(cause.utf8.count) 字节，上限为 \(Request.maxUseCauseLength) 字节",
                                        en: "has \(cause.utf8.count) bytes; at most \(Request.maxUseCauseLength) are accepted")
        }
        guard let header = request.headers[.authorization] else {
            guard let secret = WindowSessions.sessionCookie(request) else { return try await next(request, context) }
            return try await window(secret, request, context: context, next: next)
        }
        guard let key = Self.bearerKey(header) else { throw Problem.invalidKey }
        let (found, counter) = try await agencies.agency(keyHash: AgencyKey.hash(key))
        guard let agency = found else { throw Problem.invalidKey }
        var context = context
        context.agency = agency
        context.registryCounter = counter
        context.logger[metadataKey: "agency"] = .string(agency.code)
        return try await next(request, context)
    }

    /// A window's session: its agency, when the session, its credential and its agency are active; a
    /// request with a session that is not is answered as anonymous (the page signs in again).
    private func window(_ secret: String, _ request: Request, context: Context,
                        next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let session = try await registry.windowSession(hash: WindowSessions.hash(secret), now: SystemClock().now),
              let agency = try await agencies.agency(code: session.agencyCode) else { return try await next(request, context) }
        if request.method != .get && request.method != .head {
            guard let token = request.headers[WindowSessions.csrfHeader], token == session.csrfToken else {
                throw Problem(.forbidden, "csrf", zh: "请求缺少本窗口会话的防伪令牌，请刷新页面后重试。",
                              en: "The request lacks this window session's CSRF token; reload the page and try again.")
            }
        }
        var context = context
        context.agency = agency
        context.logger[metadataKey: "agency"] = .string(agency.code)
        return try await next(request, context)
    }

    /// The key of `Bearer KEY` (scheme in any case, blanks around the key), at most 256 bytes. Read
    /// byte by byte: a combining mark after the scheme's space must not join it into one character.
    static func bearerKey(_ header: String) -> Substring? {
        let utf8 = header.utf8
        let scheme = Array("bearer ".utf8)
        guard utf8.count > scheme.count,
              zip(utf8.prefix(scheme.count), scheme).allSatisfy({ byte, expected in
                  byte == expected || (expected >= UInt8(ascii: "a") && expected <= UInt8(ascii: "z") && byte == expected - 32)
              }) else { return nil }
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let rest = utf8[utf8.index(utf8.startIndex, offsetBy: scheme.count)...]
        guard let first = rest.firstIndex(where: { !blank($0) }), let last = rest.lastIndex(where: { !blank($0) }) else {
            return nil
        }
        let key = Substring(utf8[first...last])
        return key.utf8.count <= 256 ? key : nil
    }
}
