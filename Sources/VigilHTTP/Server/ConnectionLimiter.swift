import Synchronization

/// Counts the open client connections of the process against its cap; shared by every event loop.
public final class ConnectionLimiter: Sendable {
    public let limit: Int
    private let open = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place for a new connection, or says there is none.
    func admit() -> Bool {
        if open.add(1, ordering: .relaxed).newValue <= limit { return true }
        open.subtract(1, ordering: .relaxed)
        return false
    }

    func release() {
        open.subtract(1, ordering: .relaxed)
    }

    public var openConnections: Int { open.load(ordering: .relaxed) }
}
