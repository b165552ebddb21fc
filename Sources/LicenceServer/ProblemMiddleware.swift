import HTTPTypes
import Hummingbird

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
                problem = .http(error.status, error.body)
            }
            return try problem.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return try Problem.internalError.response(from: request, context: context)
        }
    }
}
