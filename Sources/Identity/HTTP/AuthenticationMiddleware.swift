public import Hummingbird
import HTTPTypes
import VigilCore
public import VigilStorage

/// Reads `Authorization: Bearer <access token>` on tenant routes, confirms it (signature, expiry,
/// tenant, live session) and sets the request's principal. It runs after tenant resolution and
/// before the idempotency middleware, whose key scope includes the principal.
///
/// Requests without the header go on anonymously (each route says whether it needs a token); an
/// enrolment token is left for the enrolment routes; anything else that fails is a 401.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = VigilRequestContext

    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        guard let token = Self.bearerToken(header) else { throw Problem.invalidToken("Send the token as `Authorization: Bearer <token>`.") }
        if OpaqueToken.hasPrefix(OpaqueToken.enrollmentPrefix, token) { return try await next(request, context) }
        guard let tenant = context.tenant else { throw Problem.unknownTenant() }
        let authentication = try await identity.authenticate(bearer: token, tenant: tenant, logger: context.logger)
        var context = context
        context.authentication = authentication
        context.principal = AuditActor(
            kind: authentication.scope == Population.staff.rawValue ? .staff : .customer,
            id: authentication.principalID.uuidString.lowercased(), sessionID: authentication.sessionID.uuidString.lowercased()
        )
        context.logger[metadataKey: "actor"] = "\(authentication.scope):\(authentication.principalID.uuidString.lowercased())"
        return try await next(request, context)
    }

    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

extension VigilRequestContext {
    /// The request's authentication, which must be a session of `population`.
    func requireAuthentication(_ population: Population) throws -> Authentication {
        guard let authentication else { throw Problem.authenticationRequired() }
        guard authentication.scope == population.rawValue else { throw Problem.wrongScope(expected: population.rawValue) }
        return authentication
    }

    func requireTenant() throws -> TenantDatabase {
        guard let tenant else { throw Problem.unknownTenant() }
        return tenant
    }
}
