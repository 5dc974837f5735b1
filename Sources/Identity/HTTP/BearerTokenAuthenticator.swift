import Foundation
public import Hummingbird
import HTTPTypes
import VigilCore
public import VigilHTTP
import VigilStorage

/// Reads `Authorization: Bearer <access token>` on tenant routes and confirms it (signature,
/// expiry, tenant, live session). Requests without the header go on anonymously (each route's
/// declared access decides); an enrolment token is left for the enrolment routes; anything else
/// that fails is a 401.
public struct BearerTokenAuthenticator: RequestAuthenticator {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public func authenticate(_ request: Request, context: VigilRequestContext) async throws -> (any AuthenticatedCaller)? {
        guard let header = request.headers[.authorization] else { return nil }
        guard let token = Self.bearerToken(header) else { throw Problem.invalidToken("Send the token as `Authorization: Bearer <token>`.") }
        if OpaqueToken.hasPrefix(OpaqueToken.enrollmentPrefix, token) { return nil }
        return try await identity.authenticate(bearer: token, tenant: try context.requireTenant(), logger: context.logger)
    }

    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

extension VigilRequestContext {
    /// The request's verified token and session, when it carried one.
    public var authentication: Authentication? {
        caller as? Authentication
    }

    /// The request's authentication, which must be a session of `population`.
    func requireAuthentication(_ population: Population) throws -> Authentication {
        guard let authentication else { throw Problem.authenticationRequired() }
        guard authentication.scope == population.rawValue else { throw Problem.wrongScope(expected: population.rawValue) }
        return authentication
    }
}
