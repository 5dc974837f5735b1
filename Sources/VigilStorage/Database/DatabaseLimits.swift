/// How long the server waits on PostgreSQL: for a pooled connection, for one statement, and for a
/// transaction left idle. Every wait is bounded so that no request hangs when PostgreSQL fails.
public struct DatabaseLimits: Sendable, Equatable {
    /// `VIGIL_DB_ACQUIRE_TIMEOUT`: the wait for a pooled connection before 503 `database-unavailable`.
    public var acquireTimeout: Duration
    /// `VIGIL_DB_STATEMENT_TIMEOUT`: PostgreSQL's `statement_timeout` for the server's sessions;
    /// `idle_in_transaction_session_timeout` is twice it.
    public var statementTimeout: Duration

    public init(acquireTimeout: Duration = .seconds(2), statementTimeout: Duration = .seconds(5)) {
        self.acquireTimeout = acquireTimeout
        self.statementTimeout = statementTimeout
    }

    /// Session settings sent as startup parameters of every connection of the server's pools.
    public var sessionSettings: [(String, String)] {
        let statement = Self.milliseconds(statementTimeout)
        return [
            ("statement_timeout", "\(statement)ms"),
            ("idle_in_transaction_session_timeout", "\(statement * 2)ms"),
        ]
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
