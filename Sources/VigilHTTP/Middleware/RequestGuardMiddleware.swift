import HTTPTypes
import Hummingbird
import VigilCore
import VigilStorage

/// Refuses what no handler should ever see: bodies over the limit (by `Content-Length` before
/// reading; chunked bodies are cut at the limit by the handlers' collectors), writes that are
/// not JSON, and NUL characters in the target (PostgreSQL cannot store U+0000).
struct RequestGuardMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw Problem.bodyTooLarge(limit: maxBodyBytes)
        }
        let target = request.uri.description
        if target.utf8.contains(0) || target.lowercased().contains("%00") {
            throw Problem.malformedRequest("The request target may not contain the NUL character (U+0000).")
        }
        if Self.carriesBody(request), request.uri.path.hasPrefix("/api/") {
            let type = request.headers[.contentType].flatMap { MediaType(from: $0) }
            guard type?.isType(.applicationJson) == true else { throw Problem.unsupportedMediaType(expected: "application/json") }
        }
        return try await next(request, context)
    }

    static func carriesBody(_ request: Request) -> Bool {
        guard [.post, .put, .patch].contains(request.method) else { return false }
        if let length = request.headers[.contentLength].flatMap(Int.init) { return length > 0 }
        return request.headers[.transferEncoding] != nil
    }
}
