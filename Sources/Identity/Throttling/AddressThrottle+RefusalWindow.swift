import Foundation
import Logging
import PostgresNIO

extension AddressThrottle {
    /// When the address is blocked at `now`, counts one refused attempt in the block's window
    /// and returns it; nil when it is not blocked. The window ends `policy.addressWindow` after
    /// its first failure; a block of another window starts a new count. One statement, as for
    /// ``LoginThrottle/countRefusalIfLocked(now:principalID:identifier:on:logger:)``.
    func countRefusalIfBlocked(now: Date, on connection: PostgresConnection, logger: Logger) async throws -> CountedRefusal? {
        let window = policy.addressWindow
        let rows = try await connection.query(
            """
            UPDATE ip_login_failures SET
                refusals = CASE WHEN refusal_window_ends_at = window_started_at + \(window) * interval '1 second' THEN refusals + 1 ELSE 1 END,
                first_refused_at = CASE WHEN refusal_window_ends_at = window_started_at + \(window) * interval '1 second'
                    THEN first_refused_at ELSE \(now) END,
                last_refused_at = \(now),
                refusal_window_ends_at = window_started_at + \(window) * interval '1 second'
            WHERE ip = \(address) AND failures >= \(policy.addressFailureLimit) AND window_started_at + \(window) * interval '1 second' > \(now)
            RETURNING refusals, refusal_window_ends_at
            """,
            logger: logger
        ).decode((Int, Date).self)
        var counted: CountedRefusal?
        for try await (number, until) in rows { counted = CountedRefusal(number: number, lockedUntil: until) }
        return counted
    }

    /// The address's refusal window, if it has one; with `lock`, the row is locked for the
    /// connection's transaction.
    func refusalWindow(lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> RefusalWindow? {
        let rows = try await connection.query(
            """
            SELECT refusals, first_refused_at, last_refused_at, refusal_window_ends_at FROM ip_login_failures
            WHERE ip = \(address) AND refusal_window_ends_at IS NOT NULL
            \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger
        ).decode((Int, Date, Date, Date).self)
        var found: RefusalWindow?
        for try await (refusals, first, last, ends) in rows {
            found = RefusalWindow(refusals: refusals, firstRefusedAt: first, lastRefusedAt: last, endsAt: ends)
        }
        return found
    }

    /// Forgets the window once its count is recorded.
    func clearRefusalWindow(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE ip_login_failures SET refusals = 0, first_refused_at = NULL, last_refused_at = NULL, refusal_window_ends_at = NULL
            WHERE ip = \(address)
            """,
            logger: logger
        )
    }

    /// Addresses whose window has ended with refusals not yet recorded, at most `limit`. Served by
    /// `index_ip_login_failures_on_refusal_window_ends_at`.
    static func windowsDue(now: Date, limit: Int, policy: LockoutPolicy, on connection: PostgresConnection, logger: Logger) async throws -> [AddressThrottle] {
        try await connection.query(
            """
            SELECT ip FROM ip_login_failures
            WHERE refusals > 1 AND refusal_window_ends_at <= \(now)
            ORDER BY refusal_window_ends_at LIMIT \(limit)
            """,
            logger: logger
        ).decode(String.self).reduce(into: [AddressThrottle]()) { due, address in
            due.append(AddressThrottle(address: address, policy: policy))
        }
    }
}
