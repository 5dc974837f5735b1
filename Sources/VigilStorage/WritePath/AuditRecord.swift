public import Foundation
public import VigilCore

/// What a service records about its change; the unit of work adds the actor, the request and trace
/// ids and the time, seals what decision 18 requires, and appends it as an audit entry.
public struct AuditRecord: Sendable, Equatable {
    public var action: String
    public var entityType: String
    public var entityID: String?
    /// Set when the entry is about a customer: their data key seals every field off the allow-list.
    public var customerID: UUID?
    /// The trading account, when the change concerns one.
    public var login: String?
    /// The legal entity whose rules applied.
    public var legalEntity: String?
    public var reasonCode: String?
    /// Free text: sealed in an entry about a customer.
    public var reason: String?
    public var caseID: String?
    public var before: [String: JSONValue]?
    public var after: [String: JSONValue]?
    public var details: [String: JSONValue]?
    /// Decimal strings exactly as stored (`"10000.00"`).
    public var balanceBefore: String?
    public var balanceAfter: String?
    public var marginUsedBefore: String?
    public var marginUsedAfter: String?

    public init(
        action: String,
        entityType: String,
        entityID: String? = nil,
        customerID: UUID? = nil,
        login: String? = nil,
        legalEntity: String? = nil,
        reasonCode: String? = nil,
        reason: String? = nil,
        caseID: String? = nil,
        before: [String: JSONValue]? = nil,
        after: [String: JSONValue]? = nil,
        details: [String: JSONValue]? = nil,
        balanceBefore: String? = nil,
        balanceAfter: String? = nil,
        marginUsedBefore: String? = nil,
        marginUsedAfter: String? = nil
    ) {
        self.action = action
        self.entityType = entityType
        self.entityID = entityID
        self.customerID = customerID
        self.login = login
        self.legalEntity = legalEntity
        self.reasonCode = reasonCode
        self.reason = reason
        self.caseID = caseID
        self.before = before
        self.after = after
        self.details = details
        self.balanceBefore = balanceBefore
        self.balanceAfter = balanceAfter
        self.marginUsedBefore = marginUsedBefore
        self.marginUsedAfter = marginUsedAfter
    }
}
