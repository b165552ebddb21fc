import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: a request the service cannot read or will not serve. The `type` is stable;
/// the messages are in Chinese and English.
public struct Problem: Error, HTTPResponseError {
    public var status: HTTPResponse.Status
    /// Stable identifier, e.g. `invalid-json`; the `type` member is `urn:elicence:problem:<code>`.
    public var code: String
    public var zh: String
    public var en: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, zh: String, en: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.zh = zh
        self.en = en
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: [String: Any] = [
            "type": "urn:elicence:problem:\(code)",
            "title": status.reasonPhrase,
            "status": status.code,
            "detail": en,
            "instance": request.uri.path,
            "message": ["zh": zh, "en": en],
        ]
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // The problems the service answers with.

    /// `detail` is a JSON error description such as `not valid JSON (Unexpected end of file)`.
    static func invalidJSON(_ detail: String) -> Problem {
        let reason = detail.hasPrefix("not valid JSON") ? String(detail.dropFirst("not valid JSON".count)) : ": " + detail
        return Problem(.badRequest, "invalid-json", zh: "请求体不是有效的 JSON\(reason)", en: "The request body is not valid JSON\(reason)")
    }

    static func invalidHeader(_ name: String, _ detail: String) -> Problem {
        Problem(.badRequest, "invalid-header", zh: "请求头 \(name) 不符合要求：\(detail)", en: "The header \(name) is not acceptable: \(detail)")
    }

    static func invalidRequest(_ detail: String) -> Problem {
        Problem(.unprocessableContent, "invalid-request", zh: "请求内容不符合要求：\(detail)", en: "The request is not acceptable: \(detail)")
    }

    static func bodyTooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, "body-too-large", zh: "请求体超过 \(limit) 字节上限。", en: "The request body exceeds the limit of \(limit) bytes.")
    }

    static func batchTooLarge(_ count: Int, _ limit: Int) -> Problem {
        Problem(.contentTooLarge, "batch-too-large", zh: "批量核验最多 \(limit) 个证照码，本次为 \(count) 个。",
                en: "A batch holds at most \(limit) tokens; this one has \(count).")
    }

    static let unauthenticated = Problem(
        .unauthorized, "unauthenticated", zh: "此接口需要用证部门密钥（Authorization: Bearer）。",
        en: "This route needs an agency key (Authorization: Bearer).", headers: [.wwwAuthenticate: "Bearer"])

    static let invalidKey = Problem(
        .unauthorized, "invalid-key", zh: "用证部门密钥无效或已撤销。", en: "The agency key is not valid or has been revoked.",
        headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])

    static func rateLimited(retryAfter: Int) -> Problem {
        Problem(.tooManyRequests, "rate-limited", zh: "匿名核验过于频繁，请 \(retryAfter) 秒后再试，或使用用证部门密钥。",
                en: "Too many anonymous verifications; retry in \(retryAfter) s, or use an agency key.",
                headers: [.retryAfter: String(retryAfter)])
    }

    static func notFound(_ what: String) -> Problem {
        Problem(.notFound, "not-found", zh: "未找到：\(what)", en: "Not found: \(what)")
    }

    static func methodNotAllowed(_ allowed: [HTTPRequest.Method]) -> Problem {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return Problem(.methodNotAllowed, "method-not-allowed", zh: "此路径只接受 \(list)。", en: "This path accepts only \(list).",
                       headers: [.allow: list])
    }

    static let unavailable = Problem(
        .serviceUnavailable, "unavailable", zh: "服务暂不可用，请稍后再试。", en: "The service is unavailable; try again later.")

    static let internalError = Problem(
        .internalServerError, "internal", zh: "服务内部错误。", en: "Internal error.")
}

/// Turns every error into problem+json: Hummingbird's own (404 becomes 405 when the path exists
/// with another method; 413 for bodies over the limit), and unexpected ones as 500 (logged).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as HTTPError {
            let problem: Problem
            switch error.status {
            case .notFound:
                let allowed = routes.methods(forPath: request.uri.path)
                problem = allowed.isEmpty ? .notFound(request.uri.path) : .methodNotAllowed(allowed)
            case .contentTooLarge:
                problem = .bodyTooLarge(context.maxUploadSize)
            default:
                problem = Problem(error.status, "http-\(error.status.code)", zh: error.body ?? error.status.reasonPhrase,
                                  en: error.body ?? error.status.reasonPhrase)
            }
            return try problem.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return try Problem.internalError.response(from: request, context: context)
        }
    }
}
