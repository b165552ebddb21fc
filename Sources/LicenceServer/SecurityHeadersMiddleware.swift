import HTTPTypes
import Hummingbird

/// The headers a government site is expected to send, on every answer: no content sniffing, no
/// referrer, no framing; and for pages a Content-Security-Policy that allows only this server's own
/// scripts, styles and connections — no inline code, nothing from elsewhere. Every GET route also
/// answers HEAD: the GET's headers, without the body.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    static let pagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    static let otherPolicy = "default-src 'none'; frame-ancestors 'none'"
    /// The four headers, built once: appended to an answer in one step (no handler sets them).
    static let pageHeaders = headers(policy: pagePolicy)
    static let otherHeaders = headers(policy: otherPolicy)

    private static func headers(policy: String) -> HTTPFields {
        [.contentSecurityPolicy: policy, .xContentTypeOptions: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
         HTTPField.Name("X-Frame-Options")!: "DENY"]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        // A worker's script is governed by its own response's policy: the service worker fetches the page's files.
        let type = response.headers[.contentType] ?? ""
        let isPage = type.hasPrefix("text/html") || type.hasPrefix("text/javascript")
        response.headers.append(contentsOf: isPage ? Self.pageHeaders : Self.otherHeaders)
        if request.method == .head {
            // The GET's headers, its length among them, and an empty body (not a closure), so that
            // the answer leaves in one write like every other.
            response = response.createHeadResponse()
        }
        return response
    }
}
