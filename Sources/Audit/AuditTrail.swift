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
            return try stored.map { try Self.unseal($0, customerID: customerID, key: key) }
        }
    }

    /// Opens every sealed field of `entry` with `key` (nil or destroyed: the fields are erased).
    static func unseal(_ entry: AuditEntry, customerID: UUID, key: CustomerKey?) throws -> ReadableAuditEntry {
        var entry = entry
        var erased: [String] = []
        func open(_ value: JSONValue, _ field: String) throws -> JSONValue? {
            guard let text = value.stringValue, SealedValue.isSealed(text) else { return value }
            guard case .available(_, let customerKey) = key else {
                erased.append(field)
                return nil
            }
            return try SealedValue.open(text, key: customerKey, additionalData: EntrySealer.additionalData(customerID: customerID, field: field))
        }
        func openMembers(_ members: [String: JSONValue]?, _ field: String) throws -> [String: JSONValue]? {
            guard let members else { return nil }
            var result: [String: JSONValue] = [:]
            for name in members.keys.sorted() {
                result[name] = try open(members[name]!, "\(field).\(name)")
            }
            return result
        }
        entry.before = try openMembers(entry.before, "before")
        entry.after = try openMembers(entry.after, "after")
        entry.details = try openMembers(entry.details, "details")
        entry.reason = try entry.reason.flatMap { try open(.string($0), "reason")?.stringValue }
        entry.actor.ip = try entry.actor.ip.flatMap { try open(.string($0), "actor.ip")?.stringValue }
        entry.actor.userAgent = try entry.actor.userAgent.flatMap { try open(.string($0), "actor.user_agent")?.stringValue }
        return ReadableAuditEntry(entry: entry, erasedFields: erased)
    }
}
