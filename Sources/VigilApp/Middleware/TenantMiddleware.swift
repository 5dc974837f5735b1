import HTTPTypes
import Hummingbird
import VigilCore
import VigilStorage

/// Resolves the request's tenant from its Host header; a host no tenant answers on is a 404
/// problem. (With identity, API requests also resolve from the token's `tid`, and a mismatch is a 401.)
struct TenantMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let directory: TenantDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority ?? ""
        guard let tenant = try await directory.tenant(forHost: host) else { throw Problem.unknownTenant() }
        var context = context
        context.tenant = tenant
        context.logger[metadataKey: "tenant"] = .string(tenant.slug)
        return try await next(request, context)
    }
}
