public import Crypto
public import Foundation
public import Logging
import PostgresNIO
import VigilCore

/// One kind of thing a tenant signs with Ed25519 (access tokens; audit checkpoints next), and the
/// table its keys live in. Every purpose's table has one shape —
/// `(kid text PRIMARY KEY, private_key text NOT NULL, public_key bytea NOT NULL, created_at
/// timestamptz NOT NULL, retired_at timestamptz)` — and the application role may SELECT, INSERT
/// and UPDATE `retired_at`, never DELETE: every public key is kept, so every old signature still verifies.
public struct SigningKeyPurpose: Sendable {
    /// The keys' table: a compile-time name, never input.
    let table: String
    /// The audit entity of a key (`token_signing_key`).
    public let entityType: String
    /// The prefix of the key's audit actions and events (`token_key.created`, `token_key.rotated`).
    public let actionPrefix: String

    public init(table: StaticString, entityType: String, actionPrefix: String) {
        self.table = "\(table)"
        self.entityType = entityType
        self.actionPrefix = actionPrefix
    }

    /// Where a key's private half is sealed: the additional data binding it to its row.
    func place(_ kid: String) -> String {
        "\(table).private_key:\(kid)"
    }
}

/// A signing key with its private half opened.
public struct SigningKey: Sendable {
    public let kid: String
    public let privateKey: Curve25519.Signing.PrivateKey
    public let createdAt: Date
    public let retiredAt: Date?
}

/// A key as verifiers see it: the public half only.
public struct PublishedSigningKey: Sendable, Equatable {
    public let kid: String
    public let publicKey: Data
    public let createdAt: Date
    public let retiredAt: Date?
}

/// Ed25519 signing keys per tenant and purpose (decisions 10 and 11): made on first use, private
/// halves sealed with the tenant key, rotated through the unit of work, never deleted.
public enum SigningKeys {
    /// The keys that still verify, oldest first: the current one and those retired after
    /// `retiredAfter`. The newest unretired key signs.
    public static func verifying(_ purpose: SigningKeyPurpose, tenant: TenantDatabase, retiredAfter: Date, logger: Logger) async throws -> [SigningKey] {
        try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
        return try await tenant.client.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT kid, private_key, created_at, retired_at FROM \(unescaped: purpose.table)
                WHERE retired_at IS NULL OR retired_at > \(retiredAfter) ORDER BY created_at, kid
                """,
                logger: logger
            ).decode((String, String, Date, Date?).self)
            var stored: [(kid: String, sealed: String, created: Date, retired: Date?)] = []
            for try await row in rows { stored.append(row) }
            var keys: [SigningKey] = []
            for key in stored {
                let raw = try await TenantSecrets.open(key.sealed, place: purpose.place(key.kid), tenant: tenant, connection: connection, logger: logger)
                guard let rawData = Data(base64Encoded: raw) else { throw KeyringError.corrupt("signing key \(key.kid)") }
                keys.append(
                    SigningKey(
                        kid: key.kid, privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: rawData), createdAt: key.created,
                        retiredAt: key.retired
                    )
                )
            }
            return keys
        }
    }

    /// Every public key the purpose ever had, oldest first.
    public static func published(_ purpose: SigningKeyPurpose, tenant: TenantDatabase, logger: Logger) async throws -> [PublishedSigningKey] {
        try await tenant.client.withConnection { connection in
            try await connection.query(
                "SELECT kid, public_key, created_at, retired_at FROM \(unescaped: purpose.table) ORDER BY created_at, kid", logger: logger
            ).decode((String, Data, Date, Date?).self).reduce(into: [PublishedSigningKey]()) { keys, row in
                keys.append(PublishedSigningKey(kid: row.0, publicKey: row.1, createdAt: row.2, retiredAt: row.3))
            }
        }
    }

    /// Makes the purpose's first key unless a current one exists, once however many processes race to it.
    public static func ensureCurrent(_ purpose: SigningKeyPurpose, tenant: TenantDatabase, context: WriteContext, now: Date, logger: Logger) async throws {
        struct MadeElsewhere: Error {}
        do {
            try await tenant.write(context, logger: logger) { unit in
                try await lock(purpose, unit: &unit)
                let current = try await unit.connection.query(
                    "SELECT count(*) FROM \(unescaped: purpose.table) WHERE retired_at IS NULL", logger: logger
                ).decode(Int.self).reduce(0, +)
                guard current == 0 else { throw MadeElsewhere() }
                let kid = try await insertKey(purpose, tenant: tenant, now: now, unit: &unit)
                try await unit.record(AuditRecord(action: "\(purpose.actionPrefix).created", entityType: purpose.entityType, entityID: kid))
                try await unit.emit(
                    OutboxEvent(aggregateType: purpose.entityType, aggregateID: kid, type: "\(purpose.actionPrefix).created", payload: ["key_id": .identifier(kid)])
                )
            }
        } catch is MadeElsewhere {
            return
        }
    }

    /// Retires the current key and makes its successor in one unit of work; returns the new key's
    /// id and the retired one's (nil when there was none). The retired key still verifies what it signed.
    public static func rotate(
        _ purpose: SigningKeyPurpose, tenant: TenantDatabase, context: WriteContext, now: Date, logger: Logger
    ) async throws -> (kid: String, retiredKID: String?) {
        try await tenant.write(context, logger: logger) { unit in
            try await lock(purpose, unit: &unit)
            let retired = try await unit.connection.query(
                "UPDATE \(unescaped: purpose.table) SET retired_at = \(now) WHERE retired_at IS NULL RETURNING kid", logger: logger
            ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            let kid = try await insertKey(purpose, tenant: tenant, now: now, unit: &unit)
            var details: [String: JSONValue] = [:]
            if let previous = retired.first { details["retired_key_id"] = .string(previous) }
            try await unit.record(
                AuditRecord(action: "\(purpose.actionPrefix).rotated", entityType: purpose.entityType, entityID: kid, details: details.isEmpty ? nil : details)
            )
            var payload: [String: PayloadValue] = ["key_id": .identifier(kid)]
            if let previous = retired.first { payload["retired_key_id"] = .identifier(previous) }
            try await unit.emit(OutboxEvent(aggregateType: purpose.entityType, aggregateID: kid, type: "\(purpose.actionPrefix).rotated", payload: payload))
            return (kid, retired.first)
        }
    }

    /// One key change per purpose and tenant at a time, across processes.
    private static func lock(_ purpose: SigningKeyPurpose, unit: inout UnitOfWork) async throws {
        try await unit.connection.query("SELECT pg_advisory_xact_lock(hashtext(\("vigil.\(purpose.table)")))", logger: unit.logger).drain()
    }

    /// A new key, its private half sealed; its id is the first 16 hex digits of its public key's SHA-256.
    private static func insertKey(_ purpose: SigningKeyPurpose, tenant: TenantDatabase, now: Date, unit: inout UnitOfWork) async throws -> String {
        let privateKey = Curve25519.Signing.PrivateKey()
        let kid = String(Hex.string(SHA256.hash(data: privateKey.publicKey.rawRepresentation)).prefix(16))
        let sealed = try TenantSecrets.seal(privateKey.rawRepresentation.base64EncodedString(), place: purpose.place(kid), tenant: tenant)
        try await unit.connection.query(
            """
            INSERT INTO \(unescaped: purpose.table) (kid, private_key, public_key, created_at)
            VALUES (\(kid), \(sealed), \(privateKey.publicKey.rawRepresentation), \(now))
            """,
            logger: unit.logger
        )
        return kid
    }
}
