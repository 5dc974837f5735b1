public import Foundation
public import Logging
public import PostgresNIO

/// The `idempotency_records` table: one stored response per scope and key, for 24 hours.
public struct IdempotencyStore: Sendable {
    public init() {}

    /// The unexpired record for `claim`'s scope and key, with the hash of the request that made it.
    public func find(_ claim: IdempotencyClaim, on connection: PostgresConnection, logger: Logger) async throws -> (requestHash: Data, response: StoredResponse)? {
        let rows = try await connection.query(
            """
            SELECT request_hash, response_status, response_content_type, response_body FROM idempotency_records
            WHERE principal = \(claim.principal) AND route = \(claim.route) AND key = \(claim.key) AND expires_at > now()
            """,
            logger: logger
        ).decode((Data, Int, String?, Data).self)
        for try await (hash, status, contentType, body) in rows {
            return (hash, StoredResponse(status: status, contentType: contentType, body: body))
        }
        return nil
    }

    /// The same lookup outside a transaction, for answering a retry without opening one.
    public func find(_ claim: IdempotencyClaim, on client: PostgresClient, logger: Logger) async throws -> (requestHash: Data, response: StoredResponse)? {
        try await client.withConnection { connection in try await find(claim, on: connection, logger: logger) }
    }

    func insert(_ claim: IdempotencyClaim, response: StoredResponse, on connection: PostgresConnection, logger: Logger) async throws {
        let seconds = Int(IdempotencyClaim.retention.components.seconds)
        // An expired record of the same scope and key gives way to the new one.
        try await connection.query(
            """
            DELETE FROM idempotency_records
            WHERE principal = \(claim.principal) AND route = \(claim.route) AND key = \(claim.key) AND expires_at <= now()
            """,
            logger: logger
        )
        try await connection.query(
            """
            INSERT INTO idempotency_records (principal, route, key, request_hash, response_status, response_content_type, response_body, expires_at)
            VALUES (\(claim.principal), \(claim.route), \(claim.key), \(claim.requestHash), \(response.status), \(response.contentType),
                    \(response.body), now() + make_interval(secs => \(seconds)))
            """,
            logger: logger
        )
    }

    /// Deletes expired records; returns how many.
    public func purgeExpired(on client: PostgresClient, logger: Logger) async throws -> Int {
        let rows = try await client.query(
            "DELETE FROM idempotency_records WHERE expires_at <= now() RETURNING 1", logger: logger
        ).decode(Int.self)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}
