import HTTPTypes
import Hummingbird
import Logging
import VigilCore
import VigilStorage

/// Turns every error into an RFC 9457 problem. Vigil's own ``Problem``s render as they are;
/// framework errors map to the nearest problem; anything else is logged in full and answered
/// with a bare 500 problem: never a stack trace or SQL text to a client.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response(instance: request.uri.path)
        } catch let error as HTTPError {
            return Self.problem(for: error, maxBodyBytes: maxBodyBytes).response(instance: request.uri.path)
        } catch {
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return Problem.internalError().response(instance: request.uri.path)
        }
    }

    static func problem(for error: HTTPError, maxBodyBytes: Int) -> Problem {
        switch error.status {
        case .notFound: return .notFound()
        case .contentTooLarge: return .bodyTooLarge(limit: maxBodyBytes)
        case .badRequest: return .malformedRequest(error.body ?? "The request could not be read.")
        case .unsupportedMediaType: return .unsupportedMediaType(expected: "application/json")
        default:
            return Problem(
                status: error.status,
                slug: error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "-"),
                title: error.status.reasonPhrase
            )
        }
    }
}
