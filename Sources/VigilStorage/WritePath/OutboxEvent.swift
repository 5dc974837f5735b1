public import Foundation

/// A business event appended to the outbox with its change (Debezium's outbox columns).
///
/// The payload carries ids and allow-listed fields only, never customer PII (decision 18):
/// consumers fetch the rest through the API under their own permissions.
public struct OutboxEvent: Sendable, Equatable {
    public var id: UUID
    /// The kind of thing the event is about (`customer`, `transaction`); Debezium routes on it.
    public var aggregateType: String
    public var aggregateID: String
    /// The event type, e.g. `customer.registered`.
    public var type: String
    /// Typed members, checked by ``OutboxPayloadRules`` when the event is emitted.
    public var payload: [String: PayloadValue]
    public var schemaVersion: Int
    /// The legal entity the change happened under.
    public var legalEntity: String?

    public init(
        id: UUID = UUID(),
        aggregateType: String,
        aggregateID: String,
        type: String,
        payload: [String: PayloadValue],
        schemaVersion: Int = 1,
        legalEntity: String? = nil
    ) {
        self.id = id
        self.aggregateType = aggregateType
        self.aggregateID = aggregateID
        self.type = type
        self.payload = payload
        self.schemaVersion = schemaVersion
        self.legalEntity = legalEntity
    }
}
