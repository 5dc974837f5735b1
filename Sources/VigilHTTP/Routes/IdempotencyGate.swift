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
    let policy: IdempotencyPolicy

    static let mutatingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    func handle(
        _ request: Request, context: VigilRequestContext, next: (Request, VigilRequestContext) async throws -> Response
    ) async throws -> Response {
        guard context.route?.mutates ?? Self.mutatingMethods.contains(request.method) else { return try await next(request, context) }
        guard let key = request.headers[.idempotencyKey] else {
            if policy == .requires { throw Problem.idempotencyKeyRequired() }
            return try await next(request, context)
        }
        if policy == .refuses {
            throw Problem.idempotencyKeyRefused("This route's responses hold tokens or secrets and are never stored; send the request without Idempotency-Key.")
        }
        guard IdempotencyClaim.isValidKey(key) else {
            throw Problem.idempotencyKeyRefused("An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good choice).")
        }
        let tenant = try context.requireTenant()
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let claim = IdempotencyClaim(
            principal: context.actor.idempotencyScope,
            route: context.route?.description ?? "\(request.method.rawValue) \(request.uri.path)",
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
    public static let idempotencyKey = Self("Idempotency-Key")!
    public static let idempotentReplayed = Self("Idempotent-Replayed")!
}
