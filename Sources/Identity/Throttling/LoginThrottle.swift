import Foundation
import Logging
import PostgresNIO

/// The failure counters of spec 02, kept in the database so that every process and every parallel
/// request sees the same count: per login identifier (its HMAC digest, known account or not) and
/// per client address.
struct LoginThrottle: Sendable {
    let population: Population
    /// The identifier's digest (``Keyring/identifierDigest(_:database:)``).
    let subject: String
    let policy: LockoutPolicy

    struct Failure: Sendable {
        /// Failures in a row, this one included; unchanged when the account was already locked.
        let failures: Int
        /// Set when the account is locked after this failure (by it or an earlier one).
        let lockedUntil: Date?
        /// This failure locked the account.
        let lockedNow: Bool
        let lockouts: Int
    }

    /// When the identifier's lock ends, if it is locked at `now`.
    func lockedUntil(now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Date? {
        let rows = try await connection.query(
            "SELECT locked_until FROM login_throttles WHERE population = \(population.rawValue) AND subject = \(subject)",
            logger: logger
        ).decode(Date?.self)
        var until: Date?
        for try await value in rows { until = value }
        guard let until, until > now else { return nil }
        return until
    }

    /// Counts one failure under the row's lock, so parallel failures are counted one by one: the
    /// failure that reaches the limit locks; failures arriving while locked are not counted again.
    func recordFailure(now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Failure {
        try await connection.query(
            """
            INSERT INTO login_throttles (population, subject) VALUES (\(population.rawValue), \(subject))
            ON CONFLICT DO NOTHING
            """,
            logger: logger
        )
        let rows = try await connection.query(
            """
            SELECT failures, lockouts, locked_until FROM login_throttles
            WHERE population = \(population.rawValue) AND subject = \(subject) FOR UPDATE
            """,
            logger: logger
        ).decode((Int, Int, Date?).self)
        var current = (failures: 0, lockouts: 0, lockedUntil: Date?.none)
        for try await (failures, lockouts, until) in rows { current = (failures, lockouts, until) }
        if let until = current.lockedUntil, until > now {
            return Failure(failures: current.failures, lockedUntil: until, lockedNow: false, lockouts: current.lockouts)
        }
        // A lock that has run out starts a new count; the lockouts so far keep the back-off growing.
        let failures = (current.lockedUntil == nil ? current.failures : 0) + 1
        let locks = policy.locks(afterFailure: failures)
        let lockouts = current.lockouts + (locks ? 1 : 0)
        let until = locks ? now.addingTimeInterval(policy.lockDuration(lockout: lockouts)) : nil
        try await connection.query(
            """
            UPDATE login_throttles SET failures = \(failures), lockouts = \(lockouts), locked_until = \(until), last_failure_at = \(now)
            WHERE population = \(population.rawValue) AND subject = \(subject)
            """,
            logger: logger
        )
        return Failure(failures: failures, lockedUntil: until, lockedNow: locks, lockouts: lockouts)
    }

    /// A completed login clears the count and the back-off.
    func reset(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE login_throttles SET failures = 0, lockouts = 0, locked_until = NULL
            WHERE population = \(population.rawValue) AND subject = \(subject) AND (failures > 0 OR lockouts > 0)
            """,
            logger: logger
        )
    }
}

/// Failed logins per client address within a sliding window start (spec 02's per-IP limit).
struct AddressThrottle: Sendable {
    let address: String
    let policy: LockoutPolicy

    func recordFailure(now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let windowStart = now.addingTimeInterval(-policy.addressWindow)
        try await connection.query(
            """
            INSERT INTO ip_login_failures AS f (ip, window_started_at, failures) VALUES (\(address), \(now), 1)
            ON CONFLICT (ip) DO UPDATE SET
                failures = CASE WHEN f.window_started_at <= \(windowStart) THEN 1 ELSE f.failures + 1 END,
                window_started_at = CASE WHEN f.window_started_at <= \(windowStart) THEN \(now) ELSE f.window_started_at END
            """,
            logger: logger
        )
    }
}
