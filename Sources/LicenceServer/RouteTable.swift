import HTTPTypes
import LicenceStore

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
    /// The router's pattern when it differs from the documented path (a path that spans segments).
    var routerPath: String? = nil
}

struct RouteTable: Sendable {
    let routes: [Route]

    /// The methods registered for a concrete path (empty when no route has this path).
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return routes.filter { route in
            if let router = route.routerPath, router.hasSuffix("/**") {
                return path.hasPrefix(router.dropLast(2)) && path.count > router.count - 2
            }
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == segments.count else { return false }
            return zip(pattern, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.flatMap { $0.method == .get ? [HTTPRequest.Method.get, .head] : [$0.method] }
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
        Route(method: .get, path: StatusListURI.route, summary: "A signed status list", access: .anyone,
              responseSchema: "application/statuslist+cwt", responseType: "application/statuslist+cwt", errors: [404, 503]),
        Route(method: .get, path: "/v1/licences/{id}/log-proof",
              summary: "The licence's issuance in the transparency log: leaf, checkpoint, RFC 9162 inclusion proof",
              access: .anyone, responseSchema: "LogProof", errors: [400, 404, 503]),
        Route(method: .get, path: "/v1/log/checkpoint", summary: "The transparency log's newest checkpoint (C2SP signed note)",
              access: .anyone, responseSchema: "text/plain", responseType: "text/plain; charset=utf-8", errors: [503]),
        Route(method: .get, path: "/v1/log/tile/{tile}",
              summary: "C2SP tlog-tiles: tile/<L>/<N>[.p/<W>] (hashes) or tile/entries/<N>[.p/<W>] (entry bundles); {tile} spans segments",
              access: .anyone, responseSchema: "application/octet-stream", responseType: "application/octet-stream", errors: [404],
              routerPath: "/v1/log/tile/**"),
        Route(method: .get, path: "/v1/trust-list", summary: "Public keys with kid, alg, issuer, validity, state",
              access: .anyone, responseSchema: "TrustList"),
        Route(method: .get, path: "/v1/trust-list.cose", summary: "The trust list signed by the authority's anchor key (COSE_Sign1)",
              access: .anyone, responseSchema: "application/cose", responseType: #"application/cose; cose-type="cose-sign1""#,
              errors: [503]),
        Route(method: .post, path: "/v1/wallet/enrol",
              summary: "Enrol a holder's device with a one-time code; the DPoP proof is signed by the key enrolled",
              access: .device, requestSchema: "EnrolRequest", responseSchema: "EnrolAnswer", errors: [400, 401, 404, 409, 410, 413, 422, 429]),
        Route(method: .get, path: "/v1/wallet/licences", summary: "The holder's licences: fields, status, token and its QR code",
              access: .device, responseSchema: "WalletLicences", errors: [401]),
        Route(method: .get, path: "/v1/wallet/usage", summary: "Who used the holder's licences (用证留痕), newest first",
              access: .device, responseSchema: "WalletUsage", errors: [401]),
        Route(method: .delete, path: "/v1/wallet/device", summary: "Remove this device", access: .device,
              responseSchema: "DeviceRemoved", errors: [401]),
        Route(method: .post, path: "/v1/window/session",
              summary: "Sign a service window in as its agency with a window credential; answers a session cookie",
              access: .anyone, requestSchema: "WindowSignIn", responseSchema: "WindowSession", errors: [400, 401, 413, 422, 429]),
        Route(method: .get, path: "/v1/window/session", summary: "Whether this window is signed in; if so, its agency and CSRF token",
              access: .anyone, responseSchema: "WindowSession"),
        Route(method: .delete, path: "/v1/window/session", summary: "Sign the window out", access: .window,
              responseSchema: "SignedOut", errors: [401, 403]),
        Route(method: .get, path: "/wallet", summary: "The holder's wallet page", access: .anyone,
              responseSchema: "text/html", responseType: "text/html"),
    ] + StaticAssets.routes + [
        Route(method: .get, path: "/healthz", summary: "Liveness", access: .anyone, responseSchema: "Health"),
        Route(method: .get, path: "/readyz", summary: "Readiness: the registry answers", access: .anyone,
              responseSchema: "Health", errors: [503]),
        Route(method: .get, path: "/metrics", summary: "Prometheus metrics", access: .anyone,
              responseSchema: "text/plain", responseType: "text/plain; version=0.0.4"),
        Route(method: .get, path: "/openapi.json", summary: "This document", access: .anyone, responseSchema: "OpenAPI"),
    ])
}
