public import Foundation
public import Logging
import PostgresNIO
import VigilCore
public import VigilStorage

/// An entry as a reader sees it: sealed fields opened with the customer's key, or listed as erased
/// when the key is destroyed. Masking per role applies after this (access issue).
public struct ReadableAuditEntry: Sendable, Equatable {
    public var entry: AuditEntry
    /// Sealed fields that could not be opened because the customer's key is destroyed
    /// (paths such as `before.email`, `reason`, `actor.ip`); their values are removed from ``entry``.
    public var erasedFields: [String]
}

/// Reads a tenant's audit entries, unsealing them on the way out.
public struct AuditTrail: Sendable {
    public let tenant: TenantDatabase

    public init(tenant: TenantDatabase) {
        self.tenant = tenant
    }

    /// The entries about `customerID`, oldest first.
    public func entries(aboutCustomer customerID: UUID, logger: Logger) async throws -> [ReadableAuditEntry] {
        try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
        return try await tenant.client.withConnection { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: AuditEntry.columns) FROM audit_entries e WHERE e.customer_id = \(customerID) ORDER BY e.id",
                logger: logger
            )
            var stored: [AuditEntry] = []
            for try await row in rows {
                if let entry = try AuditEntry(row: row.makeRandomAccess(), from: 0) { stored.append(entry) }
            }
            let key = try await tenant.keyring.customerKey(
                customerID, create: false, database: tenant.databaseName, on: connection, logger: logger
            )
            return try stored.map { entry in
                var readable = entry
                let opened = try EntrySealer.open(entry.record, actor: entry.actor, key: key)
                (readable.record, readable.actor) = (opened.record, opened.actor)
                return ReadableAuditEntry(entry: readable, erasedFields: opened.erasedFields)
            }
        }
    }
}
