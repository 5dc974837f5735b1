public import Foundation
public import Logging
public import PostgresNIO
import VigilCore

/// Why a unit of work refused to commit.
public enum UnitOfWorkError: Error, CustomStringConvertible, Sendable {
    /// The body changed something without recording an audit entry or emitting an event.
    case unaudited(entries: Int, events: Int)
    /// An entry about an erased customer needed sealing, but their key is destroyed.
    case customerErased(UUID)
    case invalidDecimal(field: String)
    /// The database returned no id for an unconditional entry insert.
    case entryNotWritten
    /// The unit of work holds an `Idempotency-Key` claim but was not given a response to store:
    /// a retry would run the change twice. Claimed requests write through the response path.
    case idempotentResponseNotStored

    public var description: String {
        switch self {
        case .unaudited(let entries, let events):
            return "A unit of work must record at least one audit entry and emit at least one event (recorded \(entries), emitted \(events))."
        case .customerErased(let id): return "Customer \(id) is erased: nothing personal can be recorded about them any more."
        case .invalidDecimal(let field): return "\(field) must be a decimal string such as \"10000.00\"."
        case .entryNotWritten: return "The audit entry insert returned no id."
        case .idempotentResponseNotStored:
            return "A unit of work holding an Idempotency-Key claim must store its response (write through the response path, not write(_:logger:_:))."
        }
    }
}

/// The one road every state change travels (architecture decision 6): one transaction holding the
/// change, its audit entries and its outbox events (and the idempotency record, when asked).
///
/// A service receives it inside ``TenantDatabase/write(_:logger:_:)``, makes its change through
/// ``connection``, then calls ``record(_:)`` and ``emit(_:)``; a body that records no entry or
/// emits no event is refused and rolled back.
public struct UnitOfWork: ~Copyable {
    /// The transaction's connection, for the service's own statements.
    public let connection: PostgresConnection
    public let logger: Logger
    public let context: WriteContext
    let tenant: TenantDatabase
    public private(set) var entryIDs: [Int64] = []
    public private(set) var eventIDs: [UUID] = []
    /// The entries and events recorded when ``holdLocksForRefusal()`` set its savepoint.
    private var refusalPoint: (entries: Int, events: Int)?

    init(connection: PostgresConnection, logger: Logger, context: WriteContext, tenant: TenantDatabase) {
        self.connection = connection
        self.logger = logger
        self.context = context
        self.tenant = tenant
    }

    /// Appends `record` as an audit entry, sealed for its customer; returns the entry's id.
    @discardableResult
    public mutating func record(_ record: AuditRecord) async throws -> Int64 {
        for (field, value) in [
            ("balance_before", record.balanceBefore), ("balance_after", record.balanceAfter),
            ("margin_used_before", record.marginUsedBefore), ("margin_used_after", record.marginUsedAfter),
        ] {
            if let value, !DecimalText.isDecimal(value) { throw UnitOfWorkError.invalidDecimal(field: field) }
        }
        if let customerID = record.customerID, EntrySealer.needsSealing(record, actor: context.actor) {
            // Fast path: a key cached from an earlier commit, with the insert itself checking that
            // the key still stands (not destroyed meanwhile, by any process).
            if let cached = tenant.keyring.cachedCustomerKey(customerID, database: tenant.databaseName) {
                let (sealed, actor) = try EntrySealer.seal(record, actor: context.actor, key: cached.key, keyVersion: cached.version)
                if let id = try await insert(sealed, actor: actor, requiringKey: (customerID, cached.version)) { return appended(id) }
                tenant.keyring.forgetCustomerKey(customerID, database: tenant.databaseName)
            }
            let key = try await tenant.keyring.customerKey(
                customerID, create: true, database: tenant.databaseName, on: connection, logger: logger
            )
            guard case .available(let version, let customerKey) = key else { throw UnitOfWorkError.customerErased(customerID) }
            let (sealed, actor) = try EntrySealer.seal(record, actor: context.actor, key: customerKey, keyVersion: version)
            guard let id = try await insert(sealed, actor: actor, requiringKey: nil) else { throw UnitOfWorkError.entryNotWritten }
            return appended(id)
        }
        guard let id = try await insert(record, actor: context.actor, requiringKey: nil) else { throw UnitOfWorkError.entryNotWritten }
        return appended(id)
    }

    /// Keeps the row locks taken so far for a refusal thrown later in this unit of work: the
    /// refusal then rolls back only what came after this point and records itself in the same
    /// transaction, under the same locks. Without it, a refusal rolls the whole transaction back and
    /// records itself in a new one, and a parallel request could act on the row in between (five
    /// wrong codes per `mfa_token` must mean five code checks, however many arrive at once).
    public mutating func holdLocksForRefusal() async throws {
        try await connection.query("SAVEPOINT vigil_refusal", logger: logger).drain()
        refusalPoint = (entryIDs.count, eventIDs.count)
    }

    /// Undoes what came after ``holdLocksForRefusal()``; false when no savepoint was set.
    mutating func rollBackToRefusalPoint() async throws -> Bool {
        guard let point = refusalPoint else { return false }
        try await connection.query("ROLLBACK TO SAVEPOINT vigil_refusal", logger: logger).drain()
        entryIDs.removeLast(entryIDs.count - point.entries)
        eventIDs.removeLast(eventIDs.count - point.events)
        refusalPoint = nil
        return true
    }

    /// Refuses a unit of work that recorded no entry or emitted no event.
    func requireAudited() throws {
        guard !entryIDs.isEmpty, !eventIDs.isEmpty else {
            throw UnitOfWorkError.unaudited(entries: entryIDs.count, events: eventIDs.count)
        }
    }

    private mutating func appended(_ id: Int64) -> Int64 {
        entryIDs.append(id)
        return id
    }

    /// Inserts the (already sealed) entry; with `requiringKey`, only while that customer key version
    /// is undestroyed. Returns the new id, or nil when the key check stopped the insert.
    private func insert(_ record: AuditRecord, actor: AuditActor, requiringKey: (customerID: UUID, version: Int)?) async throws -> Int64? {
        let rows = try await connection.query(
            """
            INSERT INTO audit_entries (
                actor_type, actor_id, actor_session_id, actor_ip, actor_user_agent, action, entity_type, entity_id,
                customer_id, login, entity, reason_code, reason, case_id, before, after, details,
                balance_before, balance_after, margin_used_before, margin_used_after, source_service, trace_id, request_id
            ) SELECT
                \(actor.kind.rawValue), \(actor.id), \(actor.sessionID), \(actor.ip), \(actor.userAgent), \(record.action),
                \(record.entityType), \(record.entityID), \(record.customerID), \(record.login), \(record.legalEntity),
                \(record.reasonCode), \(record.reason), \(record.caseID), \(Self.json(record.before))::jsonb,
                \(Self.json(record.after))::jsonb, \(Self.json(record.details))::jsonb, \(record.balanceBefore),
                \(record.balanceAfter), \(record.marginUsedBefore), \(record.marginUsedAfter), \(context.sourceService),
                \(context.traceID), \(context.requestID)
            WHERE \(requiringKey == nil) OR EXISTS (
                SELECT 1 FROM customer_keys
                WHERE customer_id = \(requiringKey?.customerID) AND version = \(requiringKey?.version) AND wrapped IS NOT NULL
            )
            RETURNING id
            """,
            logger: logger
        ).decode(Int64.self)
        var inserted: Int64?
        for try await id in rows { inserted = id }
        return inserted
    }

    /// Appends `event` to the outbox; its payload must hold no personal data (``OutboxPayloadRules``).
    public mutating func emit(_ event: OutboxEvent) async throws {
        try OutboxPayloadRules.check(event.payload)
        let payload = CanonicalJSON.string(of: .object(event.payload.mapValues(\.json)))
        try await connection.query(
            """
            INSERT INTO outbox_events (id, aggregatetype, aggregateid, type, payload, schema_version, trace_id, entity)
            VALUES (\(event.id), \(event.aggregateType), \(event.aggregateID), \(event.type),
                    \(payload)::jsonb, \(event.schemaVersion), \(context.traceID), \(event.legalEntity))
            """,
            logger: logger
        )
        eventIDs.append(event.id)
    }

    /// A keyed digest to record in place of an identifier that belongs to no known customer.
    public func identifierDigest(_ identifier: String) throws -> String {
        try tenant.keyring.identifierDigest(identifier, database: tenant.databaseName)
    }

    /// Destroys the customer's data keys (crypto-shredding); record the erasure in this same unit of work.
    public func destroyCustomerKeys(_ customerID: UUID) async throws -> Int {
        try await tenant.keyring.destroyCustomerKeys(customerID, on: connection, logger: logger)
    }

    static func json(_ members: [String: JSONValue]?) -> String? {
        members.map { CanonicalJSON.string(of: .object($0)) }
    }
}
