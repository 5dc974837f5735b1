public import Foundation
public import Logging
import PostgresNIO
public import VigilCore
public import VigilStorage

public struct RevokedSessions: Codable, Sendable {
    public let revoked: Int
}

extension IdentityService {
    /// `POST …/refresh {"refresh_token"}`: a new token pair; the presented refresh token is spent.
    ///
    /// Presenting a spent token again revokes its whole session (the family), with no grace
    /// window: of two concurrent refreshes with one token, the second waits on the row lock, finds
    /// the token spent, and revokes the family (spec 02). A token of a session that has already
    /// ended is refused without writing, like an unknown one, so repeating a spent token records
    /// its reuse once (decision 0014).
    public func refresh(_ population: Population, refreshToken: String, call: AuthCall) async throws -> TokenResponse {
        let now = clock.now
        guard OpaqueToken.hasPrefix(OpaqueToken.refreshPrefix, refreshToken),
            let row = try await call.tenant.client.withConnection({ try await RefreshTokenStore.find(refreshToken, lock: false, on: $0, logger: call.logger) }),
            row.population == population, !row.sessionRevoked, row.rotated || row.expiresAt > now
        else { throw Problem.invalidRefreshToken() }
        try await prepareTokenKeys(call)
        let context = call.context(as: population, row.principalID, sessionID: row.sessionID)
        return try await call.tenant.write(context, logger: call.logger) { unit in
            guard let locked = try await RefreshTokenStore.find(refreshToken, lock: true, on: unit.connection, logger: unit.logger) else {
                throw Problem.invalidRefreshToken()
            }
            // The session ended since the first read (a parallel reuse revoked the family, or a
            // logout): refused like any token of an ended session, with nothing to record.
            if locked.rotated && locked.sessionRevoked { throw Problem.invalidRefreshToken() }
            // A reused token's family is revoked before its row lock is released.
            try await unit.holdLocksForRefusal()
            if locked.rotated {
                throw AuthRefusal(
                    identity: self, action: "auth.refresh_token_reused", population: population, principalID: locked.principalID,
                    sessionID: locked.sessionID, reasonCode: "token_family_revoked", problem: .refreshTokenReused(),
                    revokeSession: (locked.sessionID, "refresh_token_reused", now)
                )
            }
            if locked.sessionRevoked || locked.expiresAt <= now {
                throw AuthRefusal(
                    identity: self, action: "auth.refresh_refused", population: population, principalID: locked.principalID,
                    sessionID: locked.sessionID, reasonCode: locked.sessionRevoked ? "session_revoked" : "expired", problem: .invalidRefreshToken()
                )
            }
            try await RefreshTokenStore.rotate(refreshToken, now: now, on: unit.connection, logger: unit.logger)
            let next = try await RefreshTokenStore.issue(sessionID: locked.sessionID, now: now, settings: settings, on: unit.connection, logger: unit.logger)
            let access = try await accessToken(
                tenant: call.tenant, population: population, principalID: locked.principalID, sessionID: locked.sessionID, amr: locked.amr,
                authTime: locked.authTime, now: now, logger: unit.logger
            )
            try await recordAuthEvent(&unit, "session.refreshed", population, locked.principalID, sessionID: locked.sessionID)
            return TokenResponse(
                accessToken: access, refreshToken: next, expiresIn: Int(settings.accessTokenLifetime), sessionID: locked.sessionID.uuidString.lowercased()
            )
        }
    }

    /// `POST …/logout`: ends the current session.
    public func logout(_ population: Population, authentication: Authentication, call: AuthCall) async throws {
        let now = clock.now
        try await call.tenant.write(call.context(as: population, authentication.principalID, sessionID: authentication.sessionID), logger: call.logger) { unit in
            try await SessionStore.revoke(authentication.sessionID, reason: "logout", now: now, on: unit.connection, logger: unit.logger)
            try await recordAuthEvent(&unit, "auth.logout", population, authentication.principalID, sessionID: authentication.sessionID)
        }
    }

    /// `GET …/sessions`: my live sessions, newest first.
    public func sessions(_ population: Population, authentication: Authentication, call: AuthCall) async throws -> [SessionSummary] {
        let now = clock.now
        return try await call.tenant.client.withConnection { connection in
            try await SessionStore.list(
                population: population, principalID: authentication.principalID, current: authentication.sessionID, now: now, on: connection,
                logger: call.logger
            )
        }
    }

    /// `DELETE …/sessions/{id}`: revokes one of my sessions (another user's is not found).
    public func revokeSession(_ population: Population, id: UUID, authentication: Authentication, call: AuthCall) async throws {
        let now = clock.now
        try await call.tenant.write(call.context(as: population, authentication.principalID, sessionID: authentication.sessionID), logger: call.logger) { unit in
            let mine = try await SessionStore.liveIDs(population: population, principalID: authentication.principalID, now: now, on: unit.connection, logger: unit.logger)
            guard mine.contains(id) else { throw Problem.notFound("You have no live session with this id.") }
            try await SessionStore.revoke(id, reason: "revoked_by_user", now: now, on: unit.connection, logger: unit.logger)
            try await recordAuthEvent(&unit, "session.revoked", population, authentication.principalID, sessionID: id, reasonCode: "revoked_by_user")
        }
    }

    /// `POST …/sessions/revoke-others`: ends every session of mine but this one.
    public func revokeOtherSessions(_ population: Population, authentication: Authentication, call: AuthCall) async throws -> RevokedSessions {
        let now = clock.now
        return try await call.tenant.write(call.context(as: population, authentication.principalID, sessionID: authentication.sessionID), logger: call.logger) { unit in
            let others = try await SessionStore.liveIDs(population: population, principalID: authentication.principalID, now: now, on: unit.connection, logger: unit.logger)
                .filter { $0 != authentication.sessionID }
            for id in others {
                try await SessionStore.revoke(id, reason: "revoked_others", now: now, on: unit.connection, logger: unit.logger)
            }
            try await recordAuthEvent(
                &unit, "session.others_revoked", population, authentication.principalID, sessionID: authentication.sessionID,
                details: ["revoked_session_ids": .array(others.map { .string($0.uuidString.lowercased()) })],
                payload: ["count": .count(Int64(others.count))]
            )
            return RevokedSessions(revoked: others.count)
        }
    }

    /// Confirms an access token against its session row: a revoked or expired session, or one of
    /// another principal, refuses the token at once (not only after the token expires).
    public func authenticate(bearer token: String, tenant: TenantDatabase, logger: Logger) async throws -> Authentication {
        let now = clock.now
        let claims: AccessTokenClaims
        do {
            claims = try await tokenKeys.verify(token, tenant: tenant, now: now, logger: logger)
        } catch {
            throw Problem.invalidToken(Self.describe(error))
        }
        guard let sessionID = UUID(uuidString: claims.sid), let principalID = UUID(uuidString: claims.sub.value),
            let population = Population(rawValue: claims.scope)
        else { throw Problem.invalidToken("The token's claims are malformed.") }
        let session = try await tenant.client.withConnection { try await SessionStore.live(sessionID, now: now, on: $0, logger: logger) }
        guard let session, session.population == population, session.principalID == principalID else {
            throw Problem.invalidToken("The token's session has ended.")
        }
        return Authentication(
            scope: population.rawValue, principalID: principalID, sessionID: sessionID, methods: session.amr, authenticatedAt: session.authTime,
            secondFactorAt: session.secondFactorAt
        )
    }

    static func describe(_ rejection: TokenRejection) -> String {
        switch rejection {
        case .malformed: return "The token is not a JWT."
        case .unsupportedAlgorithm: return "Only EdDSA tokens are accepted."
        case .unknownKey: return "The token was not signed by one of this tenant's keys."
        case .badSignature: return "The token's signature does not verify."
        case .expired: return "The token has expired."
        case .otherTenant: return "The token belongs to another tenant."
        }
    }
}
