public import Foundation
import Logging
import PostgresNIO

/// A row of `auth_sessions` as "my sessions" shows it.
public struct SessionSummary: Codable, Sendable, Equatable {
    public let id: String
    public let createdAt: Date
    public let lastSeenAt: Date
    public let ip: String?
    public let userAgent: String?
    public let deviceLabel: String?
    public let country: String?
    public let amr: [String]
    public let current: Bool

    enum CodingKeys: String, CodingKey {
        case id, ip, country, amr, current
        case createdAt = "created_at"
        case lastSeenAt = "last_seen_at"
        case userAgent = "user_agent"
        case deviceLabel = "device_label"
    }
}

/// What the authentication middleware needs of a session on every request.
struct LiveSession: Sendable {
    let population: Population
    let principalID: UUID
    let authTime: Date
    let amr: [String]
    let secondFactorAt: Date?
}

/// Where a login comes from, recorded on its session.
struct ClientDevice: Sendable {
    let ip: String?
    let userAgent: String?
    let country: String?
    var label: String { DeviceLabel.label(userAgent: userAgent) }
}

/// SQL of `auth_sessions`. A session is one refresh-token family (`RefreshTokenStore`).
enum SessionStore {
    struct Created: Sendable {
        let sessionID: UUID
        let refreshToken: String
        let evicted: [UUID]
    }

    /// Opens a session with its first refresh token. The caller holds the credential's row lock,
    /// so the count of live sessions cannot change underneath; beyond `maxSessions` the oldest are
    /// revoked (`evicted`).
    static func create(
        population: Population, principalID: UUID, amr: [String], device: ClientDevice, now: Date, settings: IdentitySettings,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Created {
        let live = try await liveIDs(population: population, principalID: principalID, now: now, on: connection, logger: logger)
        let evicted = Array(live.prefix(max(0, live.count - settings.maxConcurrentSessions + 1)))
        for id in evicted { try await revoke(id, reason: "evicted", now: now, on: connection, logger: logger) }
        let sessionID = UUID()
        let expires = now.addingTimeInterval(settings.refreshTokenLifetime)
        let secondFactorAt: Date? = amr.contains("otp") ? now : nil
        try await connection.query(
            """
            INSERT INTO auth_sessions (
                id, population, principal_id, created_at, last_seen_at, ip, user_agent, device_label, country, amr, auth_time,
                second_factor_at, expires_at
            ) VALUES (
                \(sessionID), \(population.rawValue), \(principalID), \(now), \(now), \(device.ip), \(device.userAgent), \(device.label),
                \(device.country), \(amr), \(now), \(secondFactorAt), \(expires)
            )
            """,
            logger: logger
        )
        let refresh = try await RefreshTokenStore.issue(sessionID: sessionID, now: now, settings: settings, on: connection, logger: logger)
        return Created(sessionID: sessionID, refreshToken: refresh, evicted: evicted)
    }

    /// Revokes the session (its whole refresh family with it); false when it was already revoked.
    @discardableResult
    static func revoke(_ id: UUID, reason: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query(
            """
            UPDATE auth_sessions SET revoked_at = \(now), revoked_reason = \(reason)
            WHERE id = \(id) AND revoked_at IS NULL RETURNING id
            """,
            logger: logger
        ).decode(UUID.self).reduce(into: 0) { count, _ in count += 1 } > 0
    }

    /// The principal's live sessions, oldest first, locked for the transaction.
    static func liveIDs(
        population: Population, principalID: UUID, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [UUID] {
        try await connection.query(
            """
            SELECT id FROM auth_sessions
            WHERE population = \(population.rawValue) AND principal_id = \(principalID) AND revoked_at IS NULL AND expires_at > \(now)
            ORDER BY created_at, id FOR UPDATE
            """,
            logger: logger
        ).decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) }
    }

    static func list(
        population: Population, principalID: UUID, current: UUID, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [SessionSummary] {
        let rows = try await connection.query(
            """
            SELECT id, created_at, last_seen_at, ip, user_agent, device_label, country, amr FROM auth_sessions
            WHERE population = \(population.rawValue) AND principal_id = \(principalID) AND revoked_at IS NULL AND expires_at > \(now)
            ORDER BY created_at DESC, id
            """,
            logger: logger
        ).decode((UUID, Date, Date, String?, String?, String?, String?, [String]).self)
        var sessions: [SessionSummary] = []
        for try await (id, created, seen, ip, agent, label, country, amr) in rows {
            sessions.append(
                SessionSummary(
                    id: id.uuidString.lowercased(), createdAt: created, lastSeenAt: seen, ip: ip, userAgent: agent, deviceLabel: label, country: country, amr: amr,
                    current: id == current
                )
            )
        }
        return sessions
    }

    /// Records that a second factor was verified in the session now (enrolment).
    static func markSecondFactor(_ id: UUID, now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE auth_sessions SET second_factor_at = \(now) WHERE id = \(id)", logger: logger)
    }

    /// Records a step-up: a second factor verified now, and the session seen now.
    static func markSteppedUp(_ id: UUID, now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE auth_sessions SET second_factor_at = \(now), last_seen_at = \(now) WHERE id = \(id)", logger: logger
        )
    }

    /// The session `id` if it is live at `now`.
    static func live(_ id: UUID, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> LiveSession? {
        let rows = try await connection.query(
            """
            SELECT population, principal_id, auth_time, amr, second_factor_at FROM auth_sessions
            WHERE id = \(id) AND revoked_at IS NULL AND expires_at > \(now)
            """,
            logger: logger
        ).decode((String, UUID, Date, [String], Date?).self)
        var found: LiveSession?
        for try await (population, principal, authTime, amr, secondFactor) in rows {
            guard let population = Population(rawValue: population) else { continue }
            found = LiveSession(population: population, principalID: principal, authTime: authTime, amr: amr, secondFactorAt: secondFactor)
        }
        return found
    }
}
