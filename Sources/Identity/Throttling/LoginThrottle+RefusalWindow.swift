import Foundation
import Logging
import PostgresNIO

/// A refused attempt counted on a throttle row while its lock holds (decision 0014).
struct CountedRefusal: Sendable, Equatable {
    /// Its place in the lock's window: 1 for the first.
    let number: Int
    /// When the lock ends.
    let lockedUntil: Date
}

/// A login's refusal window and whom its attempts were for.
struct LoginRefusalWindow: Sendable, Equatable {
    let window: RefusalWindow
    let principalID: UUID?
    /// The keyed digest of a login identifier that matched no account.
    let identifier: String?
}

extension LoginThrottle {
    /// When the login is locked at `now`, counts one refused attempt in the lock's window and
    /// returns it; nil when it is not locked. A lock other than the one the row's count belongs
    /// to starts a new window. The check and the count are one statement, so parallel refusals
    /// are numbered one by one and exactly one of them is the first.
    func countRefusalIfLocked(
        now: Date, principalID: UUID?, identifier: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> CountedRefusal? {
        let rows = try await connection.query(
            """
            UPDATE login_throttles SET
                refusals = CASE WHEN refusal_window_ends_at = locked_until THEN refusals + 1 ELSE 1 END,
                first_refused_at = CASE WHEN refusal_window_ends_at = locked_until THEN first_refused_at ELSE \(now) END,
                refused_principal_id = CASE WHEN refusal_window_ends_at = locked_until THEN refused_principal_id ELSE \(principalID) END,
                refused_identifier = CASE WHEN refusal_window_ends_at = locked_until THEN refused_identifier ELSE \(identifier) END,
                last_refused_at = \(now),
                refusal_window_ends_at = locked_until
            WHERE population = \(population.rawValue) AND subject = \(subject) AND locked_until > \(now)
            RETURNING refusals, locked_until
            """,
            logger: logger
        ).decode((Int, Date).self)
        var counted: CountedRefusal?
        for try await (number, until) in rows { counted = CountedRefusal(number: number, lockedUntil: until) }
        return counted
    }

    /// The login's refusal window, if it has one; with `lock`, the row is locked for the
    /// connection's transaction.
    func refusalWindow(lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> LoginRefusalWindow? {
        let rows = try await connection.query(
            """
            SELECT refusals, first_refused_at, last_refused_at, refusal_window_ends_at, refused_principal_id, refused_identifier
            FROM login_throttles
            WHERE population = \(population.rawValue) AND subject = \(subject) AND refusal_window_ends_at IS NOT NULL
            \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger
        ).decode((Int, Date, Date, Date, UUID?, String?).self)
        var found: LoginRefusalWindow?
        for try await (refusals, first, last, ends, principalID, identifier) in rows {
            found = LoginRefusalWindow(
                window: RefusalWindow(refusals: refusals, firstRefusedAt: first, lastRefusedAt: last, endsAt: ends), principalID: principalID,
                identifier: identifier
            )
        }
        return found
    }

    /// Forgets the window once its count is recorded.
    func clearRefusalWindow(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE login_throttles SET refusals = 0, first_refused_at = NULL, last_refused_at = NULL, refusal_window_ends_at = NULL,
                refused_principal_id = NULL, refused_identifier = NULL
            WHERE population = \(population.rawValue) AND subject = \(subject)
            """,
            logger: logger
        )
    }

    /// Logins whose window has ended with refusals not yet recorded (``RefusalWindow/countDue(now:)``),
    /// at most `limit`. Served by `index_login_throttles_on_refusal_window_ends_at`.
    static func windowsDue(now: Date, limit: Int, policy: LockoutPolicy, on connection: PostgresConnection, logger: Logger) async throws -> [LoginThrottle] {
        try await connection.query(
            """
            SELECT population, subject FROM login_throttles
            WHERE refusals > 1 AND refusal_window_ends_at <= \(now)
            ORDER BY refusal_window_ends_at LIMIT \(limit)
            """,
            logger: logger
        ).decode((String, String).self).reduce(into: [LoginThrottle]()) { due, row in
            guard let population = Population(rawValue: row.0) else { return }
            due.append(LoginThrottle(population: population, subject: row.1, policy: policy))
        }
    }
}
