import HTTPTypes
public import Hummingbird
import VigilCore

/// A known path asked with a method it does not answer: 405 with `Allow`, not 404 (decision 20).
/// The router finds no endpoint for the method; the route table knows which methods the path has.
public struct MethodNotAllowedMiddleware: RouterMiddleware {
    public typealias Context = VigilRequestContext

    let table: RouteTable

    public init(table: RouteTable) {
        self.table = table
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = table.allowedMethods(forRequestPath: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            throw Problem.methodNotAllowed(allowed: allowed)
        }
    }
}
