import Foundation
import Logging
import PostgresNIO

/// SQL of `login_credentials`: a principal's password, TOTP secret and its last used step.
enum CredentialStore {
    private static let columns = """
        c.population, c.principal_id, c.email, c.password_hash,
        c.disabled OR coalesce(s.status = 'disabled', false), c.totp_secret, c.totp_enabled_at IS NOT NULL,
        c.totp_last_step, c.totp_pending_secret
        """

    /// The credential for `email`, or nil when no one of that population uses it.
    static func find(_ population: Population, email: String, on connection: PostgresConnection, logger: Logger) async throws -> Credential? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: columns) FROM login_credentials c
            LEFT JOIN staff_users s ON c.population = 'staff' AND s.id = c.principal_id
            WHERE c.population = \(population.rawValue) AND c.email = \(email)
            """,
            logger: logger
        )
        return try await first(rows)
    }

    /// The credential of `principalID`; with `lock`, its row is locked for the transaction (which
    /// serialises a principal's logins, code checks and session limits).
    static func find(_ population: Population, principalID: UUID, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Credential? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: columns) FROM login_credentials c
            LEFT JOIN staff_users s ON c.population = 'staff' AND s.id = c.principal_id
            WHERE c.population = \(population.rawValue) AND c.principal_id = \(principalID)
            \(unescaped: lock ? "FOR UPDATE OF c" : "")
            """,
            logger: logger
        )
        return try await first(rows)
    }

    private static func first(_ rows: PostgresRowSequence) async throws -> Credential? {
        var found: Credential?
        for try await (population, id, email, hash, disabled, secret, enabled, lastStep, pending) in rows.decode(
            (String, UUID, String, String?, Bool, String?, Bool, Int64?, String?).self
        ) {
            found = Credential(
                population: Population(rawValue: population) ?? .staff, principalID: id, email: email, passwordHash: hash,
                disabled: disabled, sealedTOTPSecret: secret, totpEnabled: enabled, totpLastStep: lastStep, sealedPendingSecret: pending
            )
        }
        return found
    }

    /// Records the step of an accepted TOTP code, so that it cannot be used again.
    static func recordTOTPStep(
        _ step: Int64, population: Population, principalID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE login_credentials SET totp_last_step = \(step)
            WHERE population = \(population.rawValue) AND principal_id = \(principalID)
            """,
            logger: logger
        )
    }

    /// Stores a sealed secret that waits for its first code before it is enabled.
    static func storePendingSecret(
        _ sealed: String, population: Population, principalID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE login_credentials SET totp_pending_secret = \(sealed)
            WHERE population = \(population.rawValue) AND principal_id = \(principalID)
            """,
            logger: logger
        )
    }

    /// Enables TOTP on `sealed`; `step` is the code that proved it, so it is spent (nil for a secret
    /// known in advance, as the demo's staff have).
    static func enableTOTP(
        sealedSecret sealed: String, step: Int64?, population: Population, principalID: UUID, now: Date, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE login_credentials
            SET totp_secret = \(sealed), totp_enabled_at = \(now), totp_last_step = \(step), totp_pending_secret = NULL
            WHERE population = \(population.rawValue) AND principal_id = \(principalID)
            """,
            logger: logger
        )
    }

    static func disableTOTP(population: Population, principalID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE login_credentials SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, totp_pending_secret = NULL
            WHERE population = \(population.rawValue) AND principal_id = \(principalID)
            """,
            logger: logger
        )
    }

    static func storePassword(
        _ hash: String, population: Population, principalID: UUID, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE login_credentials SET password_hash = \(hash), password_changed_at = \(now)
            WHERE population = \(population.rawValue) AND principal_id = \(principalID)
            """,
            logger: logger
        )
    }

    /// A new credential; a staff user's has no password until their enrolment link sets one.
    static func insert(
        _ population: Population, principalID: UUID, email: String, passwordHash: String?, now: Date, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO login_credentials (population, principal_id, email, password_hash, password_changed_at, created_at)
            VALUES (\(population.rawValue), \(principalID), \(email), \(passwordHash), \(passwordHash == nil ? nil : now), \(now))
            """,
            logger: logger
        )
    }
}
