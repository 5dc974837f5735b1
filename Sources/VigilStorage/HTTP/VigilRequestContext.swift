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

    public static let defaultMaxUploadSize = 1 << 20

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
    }
}
