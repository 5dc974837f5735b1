import HTTPTypes
import Hummingbird
import Identity
import VigilCore
import VigilStorage

/// `Idempotency-Key` on mutating requests (architecture decision 6, 11-events).
///
/// A retry of a committed request is answered with the stored response without running the
/// handler; a different request under the same key is refused with 422. Otherwise the claim goes
/// into the request context, and the unit of work takes the key's lock (409 for a duplicate still
/// in flight) and stores the successful response in the same transaction. Authentication routes
/// refuse the header: their responses hold tokens, and tokens are never stored.
///
/// The scope includes the principal, so authentication must have run before this middleware.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    /// Endpoint paths (as registered) of identity, whose responses are never stored.
    static let authenticationRoutes: Set<String> = IdentityController.routesRefusingIdempotencyKeys

    var refusedRoutes: Set<String> = Self.authenticationRoutes

    static let mutatingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.mutatingMethods.contains(request.method), let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        if let route = context.endpointPath, refusedRoutes.contains(route) {
            throw Problem.idempotencyKeyRefused("Authentication responses hold tokens and are never stored; send the request without Idempotency-Key.")
        }
        guard IdempotencyClaim.isValidKey(key) else {
            throw Problem.idempotencyKeyRefused("An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good choice).")
        }
        guard let tenant = context.tenant else { return try await next(request, context) }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let claim = IdempotencyClaim(
            principal: context.principal?.idempotencyScope ?? "",
            route: "\(request.method.rawValue) \(context.endpointPath ?? request.uri.path)",
            key: key,
            method: request.method.rawValue,
            path: request.uri.description,
            body: body.readableBytesView
        )
        if let stored = try await IdempotencyStore(tenant: tenant).find(claim, logger: context.logger) {
            guard stored.requestHash == claim.requestHash else { throw Problem.idempotencyKeyReused() }
            return Self.replayed(stored.response)
        }
        var context = context
        context.idempotencyClaim = claim
        do {
            return try await next(request, context)
        } catch let replay as IdempotentReplay {
            return Self.replayed(replay.response)
        }
    }

    static func replayed(_ stored: StoredResponse) -> Response {
        var response = stored.httpResponse
        response.headers[.idempotentReplayed] = "true"
        return response
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
