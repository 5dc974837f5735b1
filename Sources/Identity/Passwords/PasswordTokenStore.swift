import Foundation
import Logging
import PostgresNIO

/// SQL of `password_tokens`: single-use links, stored hashed, that set a password (enrolment, reset).
enum PasswordTokenStore {
    /// A live token's principal, purpose and the email its new password is checked against.
    struct LiveToken: Sendable {
        let principalID: UUID
        let purpose: String
        let email: String
    }

    /// A new token for the principal, valid for `lifetime`.
    static func issue(
        purpose: String, population: Population, principalID: UUID, lifetime: TimeInterval, now: Date, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> String {
        let token = OpaqueToken.generate(prefix: OpaqueToken.passwordPrefix)
        try await connection.query(
            """
            INSERT INTO password_tokens (token_hash, purpose, population, principal_id, created_at, expires_at)
            VALUES (\(OpaqueToken.hash(token)), \(purpose), \(population.rawValue), \(principalID), \(now), \(now.addingTimeInterval(lifetime)))
            """,
            logger: logger
        )
        return token
    }

    /// The token if it is of `population`, unused and unexpired; nil otherwise.
    static func live(_ token: String, population: Population, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> LiveToken? {
        let rows = try await connection.query(
            """
            SELECT t.principal_id, t.purpose, c.email FROM password_tokens t
            JOIN login_credentials c ON c.population = t.population AND c.principal_id = t.principal_id
            WHERE t.token_hash = \(OpaqueToken.hash(token)) AND t.population = \(population.rawValue)
              AND t.used_at IS NULL AND t.expires_at > \(now)
            """,
            logger: logger
        ).decode((UUID, String, String).self)
        var found: LiveToken?
        for try await (principal, purpose, email) in rows { found = LiveToken(principalID: principal, purpose: purpose, email: email) }
        return found
    }

    /// Marks the token used; false when it already was (a concurrent use won).
    static func spend(_ token: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query(
            "UPDATE password_tokens SET used_at = \(now) WHERE token_hash = \(OpaqueToken.hash(token)) AND used_at IS NULL RETURNING 1",
            logger: logger
        ).decode(Int.self).reduce(into: 0) { $0 += $1 } == 1
    }
}
