import HTTPTypes

/// Who may call a route.
enum Access: String, Sendable {
    /// Anyone; anonymous callers are rate-limited per address.
    case anyoneRateLimited
    /// Anyone, without limit.
    case anyone
    /// Agencies with a key.
    case agency
}

/// One route of the API, as registered and as documented: the table is the single source of both
/// the router and `/openapi.json`, so the document cannot miss a route.
struct Route: Sendable {
    var method: HTTPRequest.Method
    /// OpenAPI form, e.g. `/v1/licences/{id}`.
    var path: String
    var summary: String
    var access: Access
    var requestSchema: String?
    /// Schema name, or a media type for non-JSON answers.
    var responseSchema: String
    var responseType = "application/json"
    var errors: [Int] = []
}

struct RouteTable: Sendable {
    let routes: [Route]

    /// The methods registered for a concrete path (empty when no route has this path).
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return routes.filter { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == segments.count else { return false }
            return zip(pattern, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method)
    }

    static let api = RouteTable(routes: [
        Route(method: .get, path: "/", summary: "Service-window page: scan or paste a licence code", access: .anyone,
              responseSchema: "text/html", responseType: "text/html"),
        Route(method: .post, path: "/v1/verify", summary: "Verify one token", access: .anyoneRateLimited,
              requestSchema: "VerifyRequest", responseSchema: "VerificationAnswer", errors: [400, 401, 413, 422, 429]),
        Route(method: .post, path: "/v1/verify/batch", summary: "Verify many tokens; answers in order", access: .agency,
              requestSchema: "BatchRequest", responseSchema: "BatchAnswer", errors: [400, 401, 413, 422]),
        Route(method: .get, path: "/v1/licences/{id}", summary: "A licence, filtered by sharing level and grants",
              access: .agency, responseSchema: "LicenceRead", errors: [401, 404]),
        Route(method: .get, path: "/v1/licences/{id}/usage", summary: "Usage records of a licence", access: .agency,
              responseSchema: "UsageAnswer", errors: [401, 403, 404]),
        Route(method: .post, path: "/v1/holders/licences", summary: "Every licence of one holder (一号)", access: .agency,
              requestSchema: "HolderLookupRequest", responseSchema: "HolderLookupAnswer", errors: [400, 401, 422]),
        Route(method: .get, path: "/v1/status-lists/{n}", summary: "A signed status list", access: .anyone,
              responseSchema: "application/statuslist+cwt", responseType: "application/statuslist+cwt", errors: [404, 503]),
        Route(method: .get, path: "/v1/trust-list", summary: "Public keys with kid, alg, issuer, validity, state",
              access: .anyone, responseSchema: "TrustList"),
        Route(method: .get, path: "/healthz", summary: "Liveness", access: .anyone, responseSchema: "Health"),
        Route(method: .get, path: "/readyz", summary: "Readiness: the registry answers", access: .anyone,
              responseSchema: "Health", errors: [503]),
        Route(method: .get, path: "/metrics", summary: "Prometheus metrics", access: .anyone,
              responseSchema: "text/plain", responseType: "text/plain; version=0.0.4"),
        Route(method: .get, path: "/openapi.json", summary: "This document", access: .anyone, responseSchema: "OpenAPI"),
    ])
}
