import HTTPTypes
public import Hummingbird
import VigilCore
public import VigilStorage

/// What stands before every handler, in this order, driven by the route's declaration:
/// the tenant from the Host header (tenant routes), the caller's credential, the
/// `Idempotency-Key` header against the route's policy, the declared access, then the key's
/// claim. Authentication runs before the claim because a key's scope includes the principal.
struct RouteGateway: RouterMiddleware {
    typealias Context = VigilRequestContext

    let declaration: RouteDeclaration
    let directory: TenantDirectory
    let authenticators: [any RequestAuthenticator]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.route = declaration
        if declaration.realm == .tenant {
            guard let tenant = try await directory.tenant(forHost: request.head.authority ?? "") else { throw Problem.unknownTenant() }
            context.tenant = tenant
            context.logger[metadataKey: "tenant"] = .string(tenant.slug)
            if declaration.authenticates, let caller = try await authenticate(request, context: context) {
                context.authenticated(as: caller)
            }
        }
        // The header's own faults come first, whoever is asking (as they did before the gateway).
        if let refusal = IdempotencyGate.refusal(policy: declaration.idempotency, method: request.method, key: request.headers[.idempotencyKey]) {
            throw refusal
        }
        switch AccessGate.decide(declaration.access, caller: context.caller?.audience) {
        case .allowed: break
        case .authenticationRequired: throw Problem.authenticationRequired()
        case .wrongScope(let expected): throw Problem.wrongScope(expected: expected.rawValue)
        }
        return try await IdempotencyGate(route: declaration).handle(request, context: context, next: next)
    }

    /// The caller named by the first authenticator that recognises the request's credential.
    private func authenticate(_ request: Request, context: Context) async throws -> (any AuthenticatedCaller)? {
        for authenticator in authenticators {
            if let caller = try await authenticator.authenticate(request, context: context) { return caller }
        }
        return nil
    }
}
