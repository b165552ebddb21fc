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

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        // A worker's script is governed by its own response's policy: the service worker fetches the page's files.
        let type = response.headers[.contentType] ?? ""
        let isPage = type.hasPrefix("text/html") || type.hasPrefix("text/javascript")
        response.headers[.contentSecurityPolicy] = isPage ? Self.pagePolicy : Self.otherPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if request.method == .head {
            // The length the GET's body would have, and no body.
            response.body = ResponseBody(contentLength: response.body.contentLength) { writer in try await writer.finish(nil) }
        }
        return response
    }
}
