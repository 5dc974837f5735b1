public import Foundation
import Logging
import PostgresNIO

/// A principal's login credential row (`login_credentials`), with the staff user's status.
struct Credential: Sendable {
    let population: Population
    let principalID: UUID
    let email: String
    let passwordHash: String?
    let disabled: Bool
    let sealedTOTPSecret: String?
    let totpEnabled: Bool
    let totpLastStep: Int64?
    let sealedPendingSecret: String?

    var secretPlace: String { Self.secretPlace(population, principalID) }
    var pendingSecretPlace: String { "login_credentials.totp_pending_secret:\(population.rawValue):\(principalID.uuidString.lowercased())" }

    /// Where a TOTP secret is sealed: the additional data that binds it to its row.
    static func secretPlace(_ population: Population, _ principalID: UUID) -> String {
        "login_credentials.totp_secret:\(population.rawValue):\(principalID.uuidString.lowercased())"
    }

    static let columns = """
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
}
