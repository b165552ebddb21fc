import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore

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

    // The problems the service answers with. Every `zh` is Chinese throughout: only the names the
    // API itself uses (fields such as `token` and `holderCode`, headers, methods, JSON) stay as they are.

    /// A body that is not JSON at all; `detail` is the English description of the syntax error.
    static func invalidJSON(_ detail: String) -> Problem {
        let reason = detail.hasPrefix("not valid JSON") ? String(detail.dropFirst("not valid JSON".count)) : ": " + detail
        return Problem(.badRequest, "invalid-json", zh: "请求体不是有效的 JSON。", en: "The request body is not valid JSON\(reason)")
    }

    /// A body of the wrong shape, such as a missing or mistyped field.
    static func invalidRequest(zh: String, en: String) -> Problem {
        Problem(.unprocessableContent, "invalid-request", zh: "请求内容不符合要求：\(zh)。", en: "The request is not acceptable: \(en)")
    }

    /// A header that is refused; `zh` and `en` say why.
    static func invalidHeader(_ name: String, zh: String, en: String) -> Problem {
        Problem(.badRequest, "invalid-header", zh: "请求头 \(name) 不符合要求：\(zh)。", en: "The header \(name) is not acceptable: \(en)")
    }

    /// A path parameter that is not what the route takes, such as a mistyped licence identifier.
    static func invalidParameter(_ name: String, _ error: LicenceCoreError) -> Problem {
        Problem(.badRequest, "invalid-parameter", zh: "路径参数 \(name) 不符合要求：\(error.chineseMessage)。",
                en: "The path parameter \(name) is not acceptable: \(error.message)")
    }

    /// A field of a readable body whose value is wrong, such as a holder code with a wrong check character.
    static func invalidField(_ name: String, _ error: LicenceCoreError) -> Problem {
        Problem(.badRequest, "invalid-field", zh: "字段 \(name) 不符合要求：\(error.chineseMessage)。",
                en: "The field \(name) is not acceptable: \(error.message)")
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

    /// Nothing at this path; `what` names it in English (the Chinese message does not repeat the path,
    /// which the answer's `instance` carries).
    static func notFound(zh: String = "没有这个路径。", _ what: String) -> Problem {
        Problem(.notFound, "not-found", zh: zh, en: "Not found: \(what)")
    }

    static func licenceNotFound(_ id: LicenceIdentifier) -> Problem {
        notFound(zh: "登记库中没有电子证照 \(id)。", "licence \(id)")
    }

    /// One of Hummingbird's own errors, with a Chinese message for its status.
    static func http(_ status: HTTPResponse.Status, _ detail: String?) -> Problem {
        let zh: String
        switch status.code {
        case 400: zh = "请求无法读取。"
        case 401: zh = "需要身份认证。"
        case 403: zh = "无权访问。"
        case 408: zh = "请求超时。"
        case 411: zh = "请求缺少长度。"
        case 414: zh = "请求地址过长。"
        case 415: zh = "不支持的请求内容类型。"
        case 431: zh = "请求头过大。"
        case 500...599: zh = "服务内部错误。"
        default: zh = "请求未能完成（HTTP \(status.code)）。"
        }
        return Problem(status, "http-\(status.code)", zh: zh, en: detail ?? status.reasonPhrase)
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
