import W3CTraceContext

/// Where a change comes from: the actor and the request and trace it belongs to.
///
/// HTTP handlers take it from ``VigilRequestContext/writeContext``; commands and jobs use
/// ``system(_:)``. Services never fill it by hand.
public struct WriteContext: Sendable {
    public var actor: AuditActor
    public var requestID: String?
    public var traceID: String?
    /// The module or job that made the change (`demo`, `identity`, `ledger`).
    public var sourceService: String?
    /// Present when the request carries an `Idempotency-Key`: the unit of work stores its response.
    public var idempotency: IdempotencyClaim?

    public init(actor: AuditActor, requestID: String? = nil, traceID: String? = nil, sourceService: String? = nil, idempotency: IdempotencyClaim? = nil) {
        self.actor = actor
        self.requestID = requestID
        self.traceID = traceID
        self.sourceService = sourceService
        self.idempotency = idempotency
    }

    /// A change Vigil makes of its own accord, with a fresh trace.
    public static func system(_ name: String, sourceService: String? = nil) -> WriteContext {
        WriteContext(actor: .system(name), traceID: TraceID.random().description, sourceService: sourceService ?? name)
    }
}
