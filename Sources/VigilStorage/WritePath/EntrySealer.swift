public import Crypto
public import Foundation
import VigilCore

/// Seals an audit record about a customer with their data key (decision 18), before it is
/// written and hashed: every member of before/after/details off the allow-list, the free-text
/// reason, and the actor's IP and user agent when the actor is that customer. ``open(_:actor:key:)``
/// is the way back, for readers.
public enum EntrySealer {
    /// The additional data binding a sealed field to its customer and place in the entry.
    public static func additionalData(customerID: UUID, field: String) -> String {
        "vigil-audit:\(customerID.uuidString.lowercased()):\(field)"
    }

    /// Whether `record` by `actor` has anything that must be sealed.
    public static func needsSealing(_ record: AuditRecord, actor: AuditActor) -> Bool {
        guard let customerID = record.customerID else { return false }
        if record.reason != nil { return true }
        if isCustomerSelf(actor, customerID), actor.ip != nil || actor.userAgent != nil { return true }
        return [record.before, record.after, record.details].contains { members in
            members?.contains { !SealingPolicy.staysClear($0.key, $0.value) } ?? false
        }
    }

    /// The record and actor with every field decision 18 names sealed under `key`.
    public static func seal(
        _ record: AuditRecord, actor: AuditActor, key: SymmetricKey, keyVersion: Int
    ) throws -> (record: AuditRecord, actor: AuditActor) {
        guard let customerID = record.customerID else { return (record, actor) }
        func sealed(_ value: JSONValue, _ field: String) throws -> String {
            try SealedValue.seal(value, key: key, keyVersion: keyVersion, additionalData: additionalData(customerID: customerID, field: field))
        }
        func sealMembers(_ members: [String: JSONValue]?, _ field: String) throws -> [String: JSONValue]? {
            guard let members else { return nil }
            var result: [String: JSONValue] = [:]
            for (name, value) in members {
                result[name] = SealingPolicy.staysClear(name, value) ? value : .string(try sealed(value, "\(field).\(name)"))
            }
            return result
        }
        var record = record
        var actor = actor
        record.before = try sealMembers(record.before, "before")
        record.after = try sealMembers(record.after, "after")
        record.details = try sealMembers(record.details, "details")
        if let reason = record.reason { record.reason = try sealed(.string(reason), "reason") }
        if isCustomerSelf(actor, customerID) {
            if let ip = actor.ip { actor.ip = try sealed(.string(ip), "actor.ip") }
            if let userAgent = actor.userAgent { actor.userAgent = try sealed(.string(userAgent), "actor.user_agent") }
        }
        return (record, actor)
    }

    static func isCustomerSelf(_ actor: AuditActor, _ customerID: UUID) -> Bool {
        actor.kind == .customer && actor.id?.lowercased() == customerID.uuidString.lowercased()
    }

    /// The record and actor with every sealed field opened with `key`; with no key, or a destroyed
    /// one, those fields are removed and listed (paths such as `before.email`, `reason`, `actor.ip`).
    public static func open(
        _ record: AuditRecord, actor: AuditActor, key: CustomerKey?
    ) throws -> (record: AuditRecord, actor: AuditActor, erasedFields: [String]) {
        guard let customerID = record.customerID else { return (record, actor, []) }
        var erased: [String] = []
        func opened(_ value: JSONValue, _ field: String) throws -> JSONValue? {
            guard let text = value.stringValue, SealedValue.isSealed(text) else { return value }
            guard case .available(_, let customerKey) = key else {
                erased.append(field)
                return nil
            }
            return try SealedValue.open(text, key: customerKey, additionalData: additionalData(customerID: customerID, field: field))
        }
        func openMembers(_ members: [String: JSONValue]?, _ field: String) throws -> [String: JSONValue]? {
            guard let members else { return nil }
            var result: [String: JSONValue] = [:]
            for name in members.keys.sorted() { result[name] = try opened(members[name]!, "\(field).\(name)") }
            return result
        }
        var record = record
        var actor = actor
        record.before = try openMembers(record.before, "before")
        record.after = try openMembers(record.after, "after")
        record.details = try openMembers(record.details, "details")
        record.reason = try record.reason.flatMap { try opened(.string($0), "reason")?.stringValue }
        actor.ip = try actor.ip.flatMap { try opened(.string($0), "actor.ip")?.stringValue }
        actor.userAgent = try actor.userAgent.flatMap { try opened(.string($0), "actor.user_agent")?.stringValue }
        return (record, actor, erased)
    }
}
