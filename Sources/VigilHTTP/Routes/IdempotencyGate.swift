import HTTPTypes
public import Hummingbird
import VigilCore
public import VigilStorage

/// `Idempotency-Key` on mutating routes, by the route's declared policy (decisions 6 and 20).
///
/// `refuses`: a key is a 400 (the response holds tokens or secrets, never stored). `requires`: a
/// request without one is a 400. With a key, a retry of a committed request is answered with the
/// stored response without running the handler, and a different request under the same key is a
/// 422. Otherwise the claim goes into the request context; the response path
/// (``VigilRequestContext/respond(status:sourceService:_:)``) takes the key's lock (409 for a
/// duplicate still in flight) and stores the response in the same transaction.
struct IdempotencyGate {
    let route: RouteDeclaration

    static let mutatingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    /// The refusal a request's `Idempotency-Key` header earns on its own, before anything else is
    /// checked: a key where the policy refuses one, none where it requires one, or a malformed key.
    static func refusal(policy: IdempotencyPolicy, method: HTTPRequest.Method, key: String?) -> Problem? {
        guard mutatingMethods.contains(method) else { return nil }
        guard let key else { return policy == .requires ? .idempotencyKeyRequired() : nil }
        if policy == .refuses {
            return .idempotencyKeyRefused(
                "This route never stores its responses (they hold tokens or secrets, or an anonymous caller has no scope of its own for a key); send the request without Idempotency-Key."
            )
        }
        guard IdempotencyClaim.isValidKey(key) else {
            return .idempotencyKeyRefused("An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good choice).")
        }
        return nil
    }

    /// Claims the request's key (the header already passed ``refusal(policy:method:key:)``) and runs
    /// the handler under the claim, or answers a retry with the stored response.
    func handle(
        _ request: Request, context: VigilRequestContext, next: (Request, VigilRequestContext) async throws -> Response
    ) async throws -> Response {
        guard route.idempotency != .refuses, Self.mutatingMethods.contains(request.method), let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        let tenant = try context.requireTenant()
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let claim = IdempotencyClaim(
            principal: context.actor.idempotencyScope,
            route: route.description,
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
        let response: Response
        do {
            response = try await next(request, context)
        } catch let replay as IdempotentReplay {
            return Self.replayed(replay.response)
        }
        // A success whose response no unit of work stored was written some other way: its retry
        // would run the change again. Loud, so the audited-routes walk catches the route.
        guard response.status.code >= 300 || claim.receipt.isStored else { throw UnitOfWorkError.idempotentResponseNotStored }
        return response
    }

    static func replayed(_ stored: StoredResponse) -> Response {
        var response = stored.httpResponse
        response.headers[.idempotentReplayed] = "true"
        return response
    }
}

extension HTTPField.Name {
    public static let idempotencyKey = Self("Idempotency-Key")!
    public static let idempotentReplayed = Self("Idempotent-Replayed")!
}
