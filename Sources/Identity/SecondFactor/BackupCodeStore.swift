import Foundation
import Logging
import PostgresNIO

/// SQL of `backup_codes`: single-use codes, stored as keyed hashes, for a lost authenticator.
enum BackupCodeStore {
    /// Replaces the principal's codes with `hashes` (the old ones stop working).
    static func replace(
        _ hashes: [Data], population: Population, principalID: UUID, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await deleteAll(population: population, principalID: principalID, on: connection, logger: logger)
        for hash in hashes {
            try await connection.query(
                """
                INSERT INTO backup_codes (population, principal_id, code_hash, created_at)
                VALUES (\(population.rawValue), \(principalID),
                        \(hash), \(now))
                """,
                logger: logger
            )
        }
    }

    /// Marks the unused code with `hash` used; false when there is none.
    static func use(
        _ hash: Data, population: Population, principalID: UUID, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        try await connection.query(
            """
            UPDATE backup_codes SET used_at = \(now)
            WHERE population = \(population.rawValue) AND principal_id = \(principalID)
              AND code_hash = \(hash) AND used_at IS NULL
            RETURNING 1
            """,
            logger: logger
        ).decode(Int.self).reduce(into: 0) { $0 += $1 } > 0
    }

    /// Whether `hash` is one of the principal's codes (called after `use` refused it, so: already used).
    static func isSpent(_ hash: Data, population: Population, principalID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query(
            """
            SELECT count(*) FROM backup_codes
            WHERE population = \(population.rawValue) AND principal_id = \(principalID) AND code_hash = \(hash)
            """,
            logger: logger
        ).decode(Int.self).reduce(into: 0) { $0 += $1 } > 0
    }

    static func deleteAll(population: Population, principalID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "DELETE FROM backup_codes WHERE population = \(population.rawValue) AND principal_id = \(principalID)", logger: logger
        )
    }
}
