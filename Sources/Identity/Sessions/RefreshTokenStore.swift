import Foundation
import Logging
import PostgresNIO

/// SQL of `refresh_tokens`: each session's family of single-use refresh tokens, stored hashed.
enum RefreshTokenStore {
    /// A refresh token with what refreshing needs of its session.
    struct RefreshTokenRow {
        let sessionID: UUID
        let population: Population
        let principalID: UUID
        let rotated: Bool
        let expiresAt: Date
        let sessionRevoked: Bool
        let amr: [String]
        let authTime: Date
    }

    /// The token's row, or nil when it is unknown; with `lock`, the token's row and its session's
    /// are locked for the transaction, so that two refreshes with one token run one after the other.
    static func find(_ token: String, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> RefreshTokenRow? {
        let rows = try await connection.query(
            """
            SELECT r.session_id, s.population, s.principal_id, r.rotated_at IS NOT NULL, r.expires_at, s.revoked_at IS NOT NULL, s.amr, s.auth_time
            FROM refresh_tokens r JOIN auth_sessions s ON s.id = r.session_id
            WHERE r.token_hash = \(OpaqueToken.hash(token))
            \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger
        ).decode((UUID, String, UUID, Bool, Date, Bool, [String], Date).self)
        var found: RefreshTokenRow?
        for try await (session, population, principal, rotated, expires, revoked, amr, authTime) in rows {
            guard let population = Population(rawValue: population) else { continue }
            found = RefreshTokenRow(
                sessionID: session, population: population, principalID: principal, rotated: rotated, expiresAt: expires,
                sessionRevoked: revoked, amr: amr, authTime: authTime
            )
        }
        return found
    }

    /// Spends the token: presenting it again revokes its family.
    static func rotate(_ token: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE refresh_tokens SET rotated_at = \(now) WHERE token_hash = \(OpaqueToken.hash(token))", logger: logger
        )
    }

    /// A new refresh token for the session, which lives on as long as it.
    static func issue(sessionID: UUID, now: Date, settings: IdentitySettings, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let token = OpaqueToken.generate(prefix: OpaqueToken.refreshPrefix)
        let expires = now.addingTimeInterval(settings.refreshTokenLifetime)
        try await connection.query(
            """
            INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
            VALUES (\(OpaqueToken.hash(token)), \(sessionID), \(now), \(expires))
            """,
            logger: logger
        )
        try await connection.query(
            "UPDATE auth_sessions SET expires_at = \(expires), last_seen_at = \(now) WHERE id = \(sessionID)", logger: logger
        )
        return token
    }
}
