public import Foundation
public import Hummingbird
public import VigilCore
public import VigilStorage

/// The per-request state every handler sees: who is asking from where, which tenant, and which
/// declared route answers.
public struct VigilRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-Id` echoed on the response and recorded with every audit entry.
    public var requestID: String = ""
    /// The W3C trace id (32 lowercase hex) from `traceparent`, or a new one.
    public var traceID: String = ""
    /// The client's address: the socket peer, or `X-Forwarded-For` behind a trusted proxy.
    public private(set) var clientAddress: IPAddress?
    public private(set) var userAgent: String?
    /// The tenant resolved from the Host header.
    public var tenant: TenantDatabase?
    /// The socket peer's address, before any proxy header is considered.
    public let peerAddress: IPAddress?
    public var maxUploadSize: Int = VigilRequestContext.defaultMaxUploadSize
    /// The declaration of the route answering this request.
    public var route: RouteDeclaration?
    /// The verified caller, when the request carried a credential.
    public var caller: (any AuthenticatedCaller)?
    /// The actor of every change this request makes: anonymous with the client's address and
    /// agent until authentication names the caller. Built once per request.
    public private(set) var actor = AuditActor(kind: .anonymous)
    /// The request's `Idempotency-Key` with its scope, set by the idempotency gate.
    public var idempotencyClaim: IdempotencyClaim?

    public static let defaultMaxUploadSize = 1 << 20

    /// Responses are encoded with sorted keys, so a replayed response is byte for byte the first one.
    public var responseEncoder: JSONEncoder { VigilJSON.encoder }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
    }

    /// Records where the request comes from (the metadata middleware calls it first).
    public mutating func identifyClient(address: IPAddress?, userAgent: String?) {
        clientAddress = address
        self.userAgent = userAgent
        actor.ip = address?.description
        actor.userAgent = userAgent
    }

    /// Records the verified caller; the actor keeps the client's address and agent.
    public mutating func authenticated(as caller: any AuthenticatedCaller) {
        self.caller = caller
        var actor = caller.actor
        actor.ip = clientAddress?.description
        actor.userAgent = userAgent
        self.actor = actor
        logger[metadataKey: "actor"] = "\(actor.kind.rawValue):\(actor.id ?? "")"
    }

    /// The tenant, which every tenant-realm route has once the gateway has run.
    public func requireTenant() throws -> TenantDatabase {
        guard let tenant else { throw Problem.unknownTenant() }
        return tenant
    }

    /// The actor, request, trace and `Idempotency-Key` claim of a change made by this request. A
    /// unit of work holding the claim must store its response, which only the response path
    /// (``respond(status:sourceService:_:)``) does; any other commit under it throws.
    public func writeContext(sourceService: String) -> WriteContext {
        WriteContext(actor: actor, requestID: requestID, traceID: traceID, sourceService: sourceService, idempotency: idempotencyClaim)
    }
}
