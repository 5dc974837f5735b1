import Foundation
import Logging
import PostgresNIO

/// SQL of `staff_users`.
enum StaffStore {
    /// Inserts the staff user; false when another already has the email.
    static func insert(
        id: UUID, email: String, name: String, role: String, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        try await connection.query(
            """
            INSERT INTO staff_users (id, email, name, role, created_at) VALUES (\(id), \(email), \(name), \(role), \(now))
            ON CONFLICT (email) DO NOTHING RETURNING 1
            """,
            logger: logger
        ).decode(Int.self).reduce(0, +) == 1
    }

    /// What `me` shows of a staff user.
    struct Profile: Sendable {
        let id: UUID
        let email: String
        let name: String
        let role: String
        let status: String
        let twoFactorEnabled: Bool
    }

    /// The staff user `id` with their credential's 2FA state, or nil when there is no such user.
    static func profile(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Profile? {
        let rows = try await connection.query(
            """
            SELECT s.id, s.email, s.name, s.role, s.status, c.totp_enabled_at IS NOT NULL FROM staff_users s
            JOIN login_credentials c ON c.population = 'staff' AND c.principal_id = s.id
            WHERE s.id = \(id)
            """,
            logger: logger
        ).decode((UUID, String, String, String, String, Bool).self)
        var found: Profile?
        for try await (id, email, name, role, status, enabled) in rows {
            found = Profile(id: id, email: email, name: name, role: role, status: status, twoFactorEnabled: enabled)
        }
        return found
    }
}
