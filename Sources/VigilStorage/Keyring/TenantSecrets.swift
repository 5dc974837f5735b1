import Foundation
public import Logging
public import PostgresNIO
import VigilCore
import VigilStorage

/// Secrets of the tenant's own (TOTP seeds, token signing keys) sealed with the tenant key of the
/// write path's keyring; `place` (table, column and row) is bound in as additional data, so a
/// sealed value copied to another row does not open.
public enum TenantSecrets {
    public static func seal(_ secret: String, place: String, tenant: TenantDatabase) throws -> String {
        let key = try tenant.keyring.tenantKey(database: tenant.databaseName)
        return try SealedValue.seal(.string(secret), key: key.key, keyVersion: key.version, additionalData: place)
    }

    public static func open(_ sealed: String, place: String, tenant: TenantDatabase, connection: PostgresConnection, logger: Logger) async throws -> String {
        guard let version = SealedValue.keyVersion(of: sealed) else { throw KeyringError.corrupt(place) }
        let key = try await tenant.keyring.tenantKey(version: version, database: tenant.databaseName, on: connection, logger: logger)
        guard case .string(let secret) = try SealedValue.open(sealed, key: key, additionalData: place) else {
            throw KeyringError.corrupt(place)
        }
        return secret
    }
}
