import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization

/// Each request's telemetry, from one reading of the clock at either end: a log line (method, path —
/// never the query string or body, which may carry tokens or holder codes — status and duration,
/// with the request id in the logger's metadata), and Hummingbird's request metrics under their
/// usual names: `hb.requests` and `http.server.request.duration` by route, method and status,
/// `hb.request.errors`, and `http.server.active_requests` by method.
///
/// The duration ends when the handler's answer is ready, not when its last byte is sent: a body is
/// passed on as the handler made it, so an answer held in one buffer leaves with its head in one
/// write. (Hummingbird's `MetricsMiddleware` wraps every body in a closure to time its sending, and
/// an answer's head, body and end then go out as three writes, each a hop to the event loop and a
/// system call.)
struct RequestTelemetryMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics = RequestMetrics()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = metrics.active(request.method)
        active.increment()
        defer { active.decrement() }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let endpoint = metrics.endpoint(context.endpointPath ?? "NotFound", request.method, status)
            endpoint.requests.increment()
            endpoint.errors.increment()
            throw error
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        let endpoint = metrics.endpoint(context.endpointPath ?? "Unknown", request.method, response.status)
        endpoint.requests.increment()
        endpoint.duration.recordNanoseconds(Int64(clamping: elapsed))
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "status": .stringConvertible(response.status.code),
            "ms": .string(String(format: "%.1f", Double(elapsed) / 1e6)),
        ])
        return response
    }
}

/// The metrics of each route, method and status seen, made once each.
final class RequestMetrics: Sendable {
    struct Endpoint: Sendable {
        let requests: Counter
        let duration: Timer
        let errors: Counter
    }

    private struct Key: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: Int
    }

    private let endpoints = Mutex<[Key: Endpoint]>([:])
    private let actives = Mutex<[HTTPRequest.Method: Meter]>([:])

    func active(_ method: HTTPRequest.Method) -> Meter {
        actives.withLock { actives in
            if let meter = actives[method] { return meter }
            let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.rawValue)])
            actives[method] = meter
            return meter
        }
    }

    func endpoint(_ route: String, _ method: HTTPRequest.Method, _ status: HTTPResponse.Status) -> Endpoint {
        let key = Key(route: route, method: method, status: status.code)
        return endpoints.withLock { endpoints in
            if let endpoint = endpoints[key] { return endpoint }
            let dimensions = [("http.route", route), ("http.request.method", method.rawValue),
                              ("http.response.status_code", String(status.code))]
            let endpoint = Endpoint(requests: Counter(label: "hb.requests", dimensions: dimensions),
                                    duration: Timer(label: "http.server.request.duration", dimensions: dimensions,
                                                    preferredDisplayUnit: .seconds),
                                    errors: Counter(label: "hb.request.errors",
                                                    dimensions: [("http.route", route), ("http.request.method", method.rawValue),
                                                                 ("error.type", String(status.code))]))
            endpoints[key] = endpoint
            return endpoint
        }
    }
}
