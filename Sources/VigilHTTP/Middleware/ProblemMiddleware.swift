import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import VigilCore
import VigilStorage

/// Turns every error into an RFC 9457 problem. Vigil's own ``Problem``s render as they are;
/// framework errors map to the nearest problem; a database that failed to answer in time is a
/// 503 the client may retry; anything else is logged in full and answered with a bare 500
/// problem: never a stack trace or SQL text to a client.
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
        } catch is NIOTooManyBytesError {
            return Problem.bodyTooLarge(limit: maxBodyBytes).response(instance: request.uri.path)
        } catch is HTTPParserError {
            // The body broke HTTP framing (a bad chunk size): the connection cannot carry another request.
            var response = Problem.malformedRequest("The request body is not valid HTTP/1.1 framing.").response(instance: request.uri.path)
            response.headers[.connection] = "close"
            return response
        } catch {
            if let fault = DatabaseUnavailable(classifying: error) {
                context.logger.warning("Database unavailable", metadata: ["reason": "\(fault.reason.rawValue)"])
                return Problem.databaseUnavailable(retryAfterSeconds: Self.databaseRetrySeconds).response(instance: request.uri.path)
            }
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return Problem.internalError().response(instance: request.uri.path)
        }
    }

    /// `Retry-After` of a 503 `database-unavailable`: about a pool's reconnection back-off.
    static let databaseRetrySeconds = 2

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
