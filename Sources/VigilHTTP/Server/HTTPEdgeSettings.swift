import Glibc
public import NIOCore

/// The limits of the HTTP edge: how long a connection may sit idle, how long a request head and
/// body may take to arrive, and how many connections the process holds at once. None of them may
/// be unbounded: an anonymous client could otherwise hold sockets until the process runs out of
/// descriptors.
public struct HTTPEdgeSettings: Sendable, Equatable {
    /// `VIGIL_HTTP_IDLE_TIMEOUT`: no request in progress and no byte received for this long: closed.
    public var idleTimeout: TimeAmount = .seconds(30)
    /// `VIGIL_HTTP_HEAD_TIMEOUT`: a request head not complete this long after its first byte: 408.
    public var headTimeout: TimeAmount = .seconds(10)
    /// `VIGIL_HTTP_BODY_TIMEOUT`: a body not complete this long after its head: 408.
    public var bodyTimeout: TimeAmount = .seconds(30)
    /// `VIGIL_HTTP_HANDLER_TIMEOUT`: no response begun this long after the request was read: 503
    /// and the connection closed. The backstop for a handler stuck on a wait nothing else bounds.
    public var handlerTimeout: TimeAmount = .milliseconds(4500)
    /// `VIGIL_HTTP_MAX_CONNECTIONS`: connections beyond it are answered 503 and closed at once.
    public var maxConnections: Int = HTTPEdgeSettings.defaultMaxConnections()

    public init() {}

    /// Descriptors kept free for everything but client sockets: database connections, the
    /// cluster's pipes, files, the runtime's own (libdispatch dies without them).
    public static let reservedDescriptors = 128

    /// The descriptor limit less the reserve, at least 16.
    public static func defaultMaxConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 - reservedDescriptors }
        let descriptors = Int(min(limit.rlim_cur, 1 << 20))
        return max(16, descriptors - reservedDescriptors)
    }

    /// Raises the soft descriptor limit to the hard one, so the default connection cap is as
    /// high as the operator's limits allow.
    public static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 1 << 20)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
