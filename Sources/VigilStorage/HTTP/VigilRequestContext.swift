public import Foundation
public import Hummingbird
public import VigilCore

/// The per-request state every handler sees: who is asking from where, and which tenant.
///
/// It lives in the storage module because the unit of work reads its request id, trace id and
/// client address into audit rows, and every domain module's routes take it.
public struct VigilRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-Id` echoed on the response and recorded with every audit entry.
    public var requestID: String = ""
    /// The W3C trace id (32 lowercase hex) from `traceparent`, or a new one.
    public var traceID: String = ""
    /// The client's address: the socket peer, or `X-Forwarded-For` behind a trusted proxy.
    public var clientAddress: IPAddress?
    public var userAgent: String?
    /// The tenant resolved from the Host header (and, for API tokens, from `tid`).
    public var tenant: TenantDatabase?
    /// The socket peer's address, before any proxy header is considered.
    public let peerAddress: IPAddress?
    public var maxUploadSize: Int = VigilRequestContext.defaultMaxUploadSize
    /// Who is asking, once authentication has said so (kind, id, session); nil for anonymous callers.
    public var principal: AuditActor?
    /// The verified access token and its live session, when the request carried one.
    public var authentication: Authentication?
    /// The request's `Idempotency-Key` with its scope, set by the idempotency middleware.
    public var idempotencyClaim: IdempotencyClaim?

    public static let defaultMaxUploadSize = 1 << 20

    /// Responses are encoded with sorted keys, so a replayed response is byte for byte the first one.
    public var responseEncoder: JSONEncoder { VigilJSON.encoder }

    /// The actor, request and trace of a change made by this request (audit entries take them from here).
    public func writeContext(sourceService: String) -> WriteContext {
        var actor = principal ?? AuditActor(kind: .anonymous)
        actor.ip = clientAddress?.description
        actor.userAgent = userAgent
        return WriteContext(
            actor: actor, requestID: requestID, traceID: traceID, sourceService: sourceService, idempotency: idempotencyClaim
        )
    }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
    }
}
