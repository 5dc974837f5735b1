public import Foundation
import Logging
import PostgresNIO

/// The purposes of a short-lived challenge token (`mfa_token`, enrolment token).
enum ChallengePurpose: String {
    case mfa, enrollment
}

/// SQL of `auth_challenges`: single-use tokens, stored hashed, that carry a login to its next step.
enum ChallengeStore {
    /// Stores a new challenge for the principal and returns its token.
    static func create(
        _ purpose: ChallengePurpose, population: Population, principalID: UUID, lifetime: TimeInterval, now: Date, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> String {
        let token = OpaqueToken.generate(prefix: purpose == .mfa ? OpaqueToken.mfaPrefix : OpaqueToken.enrollmentPrefix)
        try await connection.query(
            """
            INSERT INTO auth_challenges (token_hash, purpose, population, principal_id, created_at, expires_at)
            VALUES (\(OpaqueToken.hash(token)), \(purpose.rawValue), \(population.rawValue), \(principalID),
                    \(now), \(now.addingTimeInterval(lifetime)))
            """,
            logger: logger
        )
        return token
    }

    /// The principal of a live challenge token, or nil when the token is unknown, of another
    /// purpose or population, used, expired or void (`maxFailures` wrong codes); with `lock`, the
    /// row is locked for the transaction.
    static func live(
        _ token: String, purpose: ChallengePurpose, population: Population, maxFailures: Int, now: Date, lock: Bool,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> UUID? {
        try await connection.query(
            """
            SELECT principal_id FROM auth_challenges
            WHERE token_hash = \(OpaqueToken.hash(token)) AND purpose = \(purpose.rawValue) AND population = \(population.rawValue)
              AND consumed_at IS NULL AND expires_at > \(now) AND failures < \(maxFailures)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger
        ).decode(UUID.self).reduce(into: nil as UUID?) { $0 = $1 }
    }

    static func consume(_ token: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE auth_challenges SET consumed_at = \(now) WHERE token_hash = \(OpaqueToken.hash(token))", logger: logger
        )
    }

    /// Counts a wrong code against the token.
    static func countFailure(_ token: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE auth_challenges SET failures = failures + 1 WHERE token_hash = \(OpaqueToken.hash(token))", logger: logger
        )
    }
}
