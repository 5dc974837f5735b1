import Foundation
import PostgresNIO
public import VigilCore
public import VigilStorage

/// An audit entry as stored (PII already sealed), and its canonical form for the hash chain: the
/// service's ``AuditRecord`` plus what the unit of work and the database added.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    /// Microseconds since the Unix epoch, exactly as PostgreSQL stores `created_at`.
    public var createdAtMicroseconds: Int64
    public var actor: AuditActor
    public var record: AuditRecord
    public var sourceService: String?
    public var traceID: String?
    public var requestID: String?

    public var createdAt: String { RFC3339.string(microsecondsSinceEpoch: createdAtMicroseconds) }

    /// The entry as hashed (docs/audit-format.md): `"v": 1`, absent values omitted.
    public var canonicalValue: JSONValue {
        var actorMembers: [String: JSONValue] = ["type": .string(actor.kind.rawValue)]
        actorMembers["id"] = actor.id.map(JSONValue.string)
        actorMembers["session_id"] = actor.sessionID.map(JSONValue.string)
        actorMembers["ip"] = actor.ip.map(JSONValue.string)
        actorMembers["user_agent"] = actor.userAgent.map(JSONValue.string)
        var members: [String: JSONValue] = [
            "v": 1,
            "id": .integer(id),
            "created_at": .string(createdAt),
            "actor": .object(actorMembers),
            "action": .string(record.action),
            "entity_type": .string(record.entityType),
        ]
        let optionalText: [(String, String?)] = [
            ("entity_id", record.entityID), ("customer_id", record.customerID?.uuidString.lowercased()), ("login", record.login),
            ("entity", record.legalEntity), ("reason_code", record.reasonCode), ("reason", record.reason), ("case_id", record.caseID),
            ("balance_before", record.balanceBefore), ("balance_after", record.balanceAfter),
            ("margin_used_before", record.marginUsedBefore), ("margin_used_after", record.marginUsedAfter),
            ("source_service", sourceService), ("trace_id", traceID), ("request_id", requestID),
        ]
        for (name, value) in optionalText { members[name] = value.map(JSONValue.string) }
        members["before"] = record.before.map(JSONValue.object)
        members["after"] = record.after.map(JSONValue.object)
        members["details"] = record.details.map(JSONValue.object)
        return .object(members)
    }

    public var canonicalBytes: [UInt8] { CanonicalJSON.bytes(of: canonicalValue) }

    /// The select list ``init(row:from:)`` reads, for a table aliased `e`.
    static let columns = """
        e.id, (extract(epoch FROM e.created_at) * 1000000)::bigint, e.actor_type, e.actor_id, e.actor_session_id,
        e.actor_ip, e.actor_user_agent, e.action, e.entity_type, e.entity_id, e.customer_id, e.login, e.entity,
        e.reason_code, e.reason, e.case_id, e.before::text, e.after::text, e.details::text, e.balance_before,
        e.balance_after, e.margin_used_before, e.margin_used_after, e.source_service, e.trace_id, e.request_id
        """
    static let columnCount = 26

    /// Reads the ``columns`` starting at `offset` of `row`; nil when the entry is missing (an outer join).
    init?(row: PostgresRandomAccessRow, from offset: Int) throws {
        guard let id = try row[offset].decode(Int64?.self) else { return nil }
        func text(_ index: Int) throws -> String? { try row[offset + index].decode(String?.self) }
        func json(_ index: Int) throws -> [String: JSONValue]? {
            guard let text = try text(index) else { return nil }
            return try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
        }
        self.id = id
        createdAtMicroseconds = try row[offset + 1].decode(Int64.self)
        guard let kind = AuditActor.Kind(rawValue: try text(2) ?? "") else { throw AuditEntryError.unknownActorType }
        actor = AuditActor(kind: kind, id: try text(3), sessionID: try text(4), ip: try text(5), userAgent: try text(6))
        record = AuditRecord(
            action: try text(7) ?? "", entityType: try text(8) ?? "", entityID: try text(9),
            customerID: try row[offset + 10].decode(UUID?.self), login: try text(11), legalEntity: try text(12),
            reasonCode: try text(13), reason: try text(14), caseID: try text(15),
            before: try json(16), after: try json(17), details: try json(18),
            balanceBefore: try text(19), balanceAfter: try text(20), marginUsedBefore: try text(21), marginUsedAfter: try text(22)
        )
        sourceService = try text(23)
        traceID = try text(24)
        requestID = try text(25)
    }
}

enum AuditEntryError: Error {
    case unknownActorType
}
