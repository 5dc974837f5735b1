public import Crypto
public import Foundation
public import Logging
public import PostgresNIO
import Synchronization
import VigilCore

/// Why a key could not be used.
public enum KeyringError: Error, CustomStringConvertible, Sendable {
    case wrongMasterKey(expected: String, actual: String)
    case tenantKeyMissing(version: Int)
    case corrupt(String)

    public var description: String {
        switch self {
        case .wrongMasterKey(let expected, let actual):
            return "The tenant key was wrapped by master key \(expected), but the configured master key is \(actual)."
        case .tenantKeyMissing(let version): return "Tenant key version \(version) is missing from the keyring."
        case .corrupt(let what): return "\(what) does not open: wrong key or altered ciphertext."
        }
    }
}

/// A customer's data key as the keyring holds it: usable, or destroyed (their sealed fields are gone).
public enum CustomerKey: Sendable {
    case available(version: Int, key: SymmetricKey)
    case destroyed(version: Int)
}

/// The key hierarchy of decision 18: master key → tenant key → customer data key, all AES-256-GCM.
///
/// Tenant keys are made on first use and cached unwrapped (they never change). Customer keys are
/// cached once read, but writers use a cached one only in an insert that checks, in the same
/// statement, that it still stands, so a key destroyed by any process is never used again.
public final class Keyring: Sendable {
    public let masterKey: MasterKey
    private let tenantKeys = Mutex<[String: (version: Int, key: SymmetricKey)]>([:])
    /// Customer keys read back from `customer_keys`, by database and customer (see the type's comment).
    private let customerKeys = Mutex<[String: (version: Int, key: SymmetricKey)]>([:])
    static let customerKeyCacheLimit = 50_000

    public init(masterKey: MasterKey) {
        self.masterKey = masterKey
    }

    /// Loads the tenant's newest key into the cache, creating (and committing) the first one on first use.
    ///
    /// It runs outside any caller's transaction on purpose: a key made inside one could roll back
    /// with it while staying cached.
    public func prepareTenantKey(database: String, client: any DatabaseClient, logger: Logger) async throws {
        if tenantKeys.withLock({ $0[database] }) != nil { return }
        if let stored = try await newestTenantKey(on: client, logger: logger) {
            tenantKeys.withLock { $0[database] = stored }
            return
        }
        let wrapped = try wrap(SymmetricKey(size: .bits256), with: masterKey.key, additionalData: "vigil-tenant-key:1")
        // A concurrent first use may win the race; then its key is the tenant's and ours is dropped.
        try await client.withConnection { connection in
            try await connection.query(
                """
                INSERT INTO keyring_tenant_keys (version, master_key_id, wrapped) VALUES (1, \(masterKey.id), \(wrapped))
                ON CONFLICT (version) DO NOTHING
                """,
                logger: logger
            )
        }
        guard let stored = try await newestTenantKey(on: client, logger: logger) else { throw KeyringError.tenantKeyMissing(version: 1) }
        tenantKeys.withLock { $0[database] = stored }
    }

    /// The newest key of the tenant `database`; ``prepareTenantKey(database:client:logger:)`` must have run.
    public func tenantKey(database: String) throws -> (version: Int, key: SymmetricKey) {
        guard let cached = tenantKeys.withLock({ $0[database] }) else { throw KeyringError.tenantKeyMissing(version: 1) }
        return cached
    }

    /// The tenant key `version`, for opening what it wrapped.
    public func tenantKey(version: Int, database: String, on connection: PostgresConnection, logger: Logger) async throws -> SymmetricKey {
        let newest = try tenantKey(database: database)
        if newest.version == version { return newest.key }
        let rows = try await connection.query(
            "SELECT master_key_id, wrapped FROM keyring_tenant_keys WHERE version = \(version)", logger: logger
        ).decode((String, Data).self)
        for try await (masterKeyID, wrapped) in rows {
            return try unwrapTenantKey(version: version, masterKeyID: masterKeyID, wrapped: wrapped)
        }
        throw KeyringError.tenantKeyMissing(version: version)
    }

    /// The customer's data key; with `create`, one is made (in the caller's transaction) when they have none.
    public func customerKey(_ customerID: UUID, create: Bool, database: String, on connection: PostgresConnection, logger: Logger) async throws -> CustomerKey? {
        if let existing = try await storedCustomerKey(customerID, database: database, on: connection, logger: logger) { return existing }
        guard create else { return nil }
        let tenant = try tenantKey(database: database)
        let key = SymmetricKey(size: .bits256)
        let wrapped = try wrap(key, with: tenant.key, additionalData: Self.customerKeyData(customerID, version: 1))
        // A concurrent writer about the same customer blocks here until it commits, then we read its key.
        try await connection.query(
            """
            INSERT INTO customer_keys (customer_id, version, tenant_key_version, wrapped)
            VALUES (\(customerID), 1, \(tenant.version), \(wrapped))
            ON CONFLICT (customer_id, version) DO NOTHING
            """,
            logger: logger
        )
        return try await storedCustomerKey(customerID, database: database, on: connection, logger: logger)
    }

    /// The cached key of a customer, if any (see ``customerKeys``).
    public func cachedCustomerKey(_ customerID: UUID, database: String) -> (version: Int, key: SymmetricKey)? {
        customerKeys.withLock { $0["\(database)#\(customerID)"] }
    }

    public func forgetCustomerKey(_ customerID: UUID, database: String) {
        _ = customerKeys.withLock { $0.removeValue(forKey: "\(database)#\(customerID)") }
    }

    private func remember(_ customerID: UUID, database: String, version: Int, key: SymmetricKey) {
        customerKeys.withLock { keys in
            if keys.count >= Self.customerKeyCacheLimit { keys.removeAll(keepingCapacity: true) }
            keys["\(database)#\(customerID)"] = (version, key)
        }
    }

    /// Crypto-shredding: overwrites every version of the customer's key. Returns how many were destroyed.
    public func destroyCustomerKeys(_ customerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        customerKeys.withLock { keys in keys = keys.filter { !$0.key.hasSuffix("#\(customerID)") } }
        let rows = try await connection.query(
            """
            UPDATE customer_keys SET wrapped = NULL, destroyed_at = now()
            WHERE customer_id = \(customerID) AND wrapped IS NOT NULL
            RETURNING version
            """,
            logger: logger
        ).decode(Int.self)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// A keyed digest of an identifier that belongs to no known customer (the email of a failed login):
    /// equal inputs give equal digests within a tenant, and the input cannot be read back.
    public func identifierDigest(_ identifier: String, database: String) throws -> String {
        let tenant = try tenantKey(database: database)
        let digestKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: tenant.key, info: Data("vigil identifier digest v1".utf8), outputByteCount: 32
        )
        let normalised = identifier.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let mac = HMAC<SHA256>.authenticationCode(for: Data(normalised.utf8), using: digestKey)
        return "hmac:v1:\(tenant.version):" + Hex.string(mac)
    }

    static func customerKeyData(_ customerID: UUID, version: Int) -> String {
        "vigil-customer-key:\(customerID.uuidString.lowercased()):\(version)"
    }

    private func storedCustomerKey(_ customerID: UUID, database: String, on connection: PostgresConnection, logger: Logger) async throws -> CustomerKey? {
        let rows = try await connection.query(
            """
            SELECT version, tenant_key_version, wrapped FROM customer_keys
            WHERE customer_id = \(customerID) ORDER BY version DESC LIMIT 1
            """,
            logger: logger
        ).decode((Int, Int, Data?).self)
        for try await (version, tenantKeyVersion, wrapped) in rows {
            guard let wrapped else { return .destroyed(version: version) }
            let tenantKey = try await tenantKey(version: tenantKeyVersion, database: database, on: connection, logger: logger)
            let key = try unwrap(wrapped, with: tenantKey, additionalData: Self.customerKeyData(customerID, version: version), what: "A customer key")
            // Possibly a row of the caller's own uncommitted transaction: if that rolls back, the
            // writers' key check finds no row and falls back here.
            remember(customerID, database: database, version: version, key: key)
            return .available(version: version, key: key)
        }
        return nil
    }

    private func newestTenantKey(on client: any DatabaseClient, logger: Logger) async throws -> (version: Int, key: SymmetricKey)? {
        try await client.withConnection { connection in
            let rows = try await connection.query(
                "SELECT version, master_key_id, wrapped FROM keyring_tenant_keys ORDER BY version DESC LIMIT 1", logger: logger
            ).decode((Int, String, Data).self)
            for try await (version, masterKeyID, wrapped) in rows {
                return (version, try unwrapTenantKey(version: version, masterKeyID: masterKeyID, wrapped: wrapped))
            }
            return nil
        }
    }

    private func unwrapTenantKey(version: Int, masterKeyID: String, wrapped: Data) throws -> SymmetricKey {
        guard masterKeyID == masterKey.id else { throw KeyringError.wrongMasterKey(expected: masterKeyID, actual: masterKey.id) }
        return try unwrap(wrapped, with: masterKey.key, additionalData: "vigil-tenant-key:\(version)", what: "The tenant key")
    }

    private func wrap(_ key: SymmetricKey, with wrappingKey: SymmetricKey, additionalData: String) throws -> Data {
        let box = try key.withUnsafeBytes { bytes in
            try AES.GCM.seal(Data(bytes), using: wrappingKey, authenticating: Data(additionalData.utf8))
        }
        guard let combined = box.combined else { throw KeyringError.corrupt("A wrapped key") }
        return combined
    }

    private func unwrap(_ wrapped: Data, with wrappingKey: SymmetricKey, additionalData: String, what: String) throws -> SymmetricKey {
        do {
            let bytes = try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: wrappingKey, authenticating: Data(additionalData.utf8))
            return SymmetricKey(data: bytes)
        } catch {
            throw KeyringError.corrupt(what)
        }
    }
}
