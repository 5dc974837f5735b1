import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// The `idempotency_records` table: one stored response per scope and key, for 24 hours.
///
/// Response bodies may hold personal data, so they are sealed with the tenant key (AES-256-GCM,
/// bound to their scope and key); they are never in clear at rest.
public struct IdempotencyStore: Sendable {
    public let tenant: TenantDatabase

    public init(tenant: TenantDatabase) {
        self.tenant = tenant
    }

    /// The unexpired record for `claim`'s scope and key, with the hash of the request that made it.
    public func find(_ claim: IdempotencyClaim, on connection: PostgresConnection, logger: Logger) async throws -> (requestHash: Data, response: StoredResponse)? {
        let rows = try await connection.query(
            """
            SELECT request_hash, response_status, response_content_type, response_body, key_version FROM idempotency_records
            WHERE principal = \(claim.principal) AND route = \(claim.route) AND key = \(claim.key) AND expires_at > now()
            """,
            logger: logger
        ).decode((Data, Int, String?, Data, Int).self)
        for try await (hash, status, contentType, sealed, keyVersion) in rows {
            let key = try await tenant.keyring.tenantKey(version: keyVersion, database: tenant.databaseName, on: connection, logger: logger)
            let body = try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Self.additionalData(claim))
            return (hash, StoredResponse(status: status, contentType: contentType, body: body))
        }
        return nil
    }

    /// The same lookup outside a transaction, for answering a retry without opening one.
    public func find(_ claim: IdempotencyClaim, logger: Logger) async throws -> (requestHash: Data, response: StoredResponse)? {
        try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
        return try await tenant.client.withConnection { connection in try await find(claim, on: connection, logger: logger) }
    }

    func insert(_ claim: IdempotencyClaim, response: StoredResponse, on connection: PostgresConnection, logger: Logger) async throws {
        let seconds = Int(IdempotencyClaim.retention.components.seconds)
        let key = try tenant.keyring.tenantKey(database: tenant.databaseName)
        guard let sealed = try AES.GCM.seal(response.body, using: key.key, authenticating: Self.additionalData(claim)).combined else {
            throw KeyringError.corrupt("An idempotency record")
        }
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
            INSERT INTO idempotency_records (principal, route, key, request_hash, response_status, response_content_type, response_body, key_version, expires_at)
            VALUES (\(claim.principal), \(claim.route), \(claim.key), \(claim.requestHash), \(response.status), \(response.contentType),
                    \(sealed), \(key.version), now() + make_interval(secs => \(seconds)))
            """,
            logger: logger
        )
    }

    static func additionalData(_ claim: IdempotencyClaim) -> Data {
        Data("vigil-idempotency:\(claim.principal)\u{0}\(claim.route)\u{0}\(claim.key)".utf8)
    }

    /// Deletes expired records; returns how many.
    public static func purgeExpired(on client: any DatabaseClient, logger: Logger) async throws -> Int {
        try await client.withConnection { connection in
            let rows = try await connection.query(
                "DELETE FROM idempotency_records WHERE expires_at <= now() RETURNING 1", logger: logger
            ).decode(Int.self)
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
    }
}
