public import PostgresNIO
import _ConnectionPoolModule

/// The database could not serve a request in time: no pooled connection within the acquire
/// timeout, the connection lost under the statement, the server shutting down or refusing, or a
/// statement cut by `statement_timeout`. Answered 503 `database-unavailable` with `Retry-After`;
/// the caller may retry the same request.
public struct DatabaseUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// No connection came free (or could be opened) within the acquire timeout.
        case acquireTimeout = "acquire-timeout"
        /// The connection closed under the request: a killed backend, a restart, a network cut.
        case connectionLost = "connection-lost"
        /// The server refused: shutting down, starting up, recovering, or out of connections.
        case serverUnavailable = "server-unavailable"
        /// The statement ran longer than `statement_timeout`.
        case statementTimeout = "statement-timeout"
    }

    public let reason: Reason

    public init(_ reason: Reason) {
        self.reason = reason
    }

    /// Whether the connection the error arrived on is unusable (no ROLLBACK can be sent on it).
    public var connectionIsGone: Bool { reason == .connectionLost || reason == .serverUnavailable }

    public var description: String { "database unavailable (\(reason.rawValue))" }

    /// The fault `error` stands for, or nil when it is an ordinary database or program error.
    public init?(classifying error: any Error) {
        switch error {
        case let fault as DatabaseUnavailable:
            self = fault
        case let error as PSQLError:
            guard let reason = Self.reason(for: error) else { return nil }
            self.init(reason)
        case let error as PostgresTransactionError:
            guard let inner = error.closureError ?? error.commitError ?? error.beginError, let fault = DatabaseUnavailable(classifying: inner) else {
                return nil
            }
            self = fault
        case is ConnectionPoolError:
            self.init(.serverUnavailable)
        default:
            return nil
        }
    }

    private static func reason(for error: PSQLError) -> Reason? {
        if let state = error.serverInfo?[.sqlState] {
            if state == "57014" { return .statementTimeout }
            // 57P01–57P05: admin or crash shutdown, cannot connect now, idle-session timeout; 08: connection exceptions; 53300: too many connections.
            if state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300" { return .serverUnavailable }
            return nil
        }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .connectionError, .messageDecodingFailure:
            return .connectionLost
        case .poolClosed:
            return .serverUnavailable
        default:
            return nil
        }
    }
}
