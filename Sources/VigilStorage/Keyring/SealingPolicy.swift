public import VigilCore

/// Which fields of an audit entry about a customer stay in clear (decision 18): ids, actions,
/// entities, amounts, currencies, statuses, reason codes and times — scalars only. Everything else
/// is sealed with the customer's key before the entry is written and hashed.
public enum SealingPolicy {
    static let allowedNames: Set<String> = [
        "id", "status", "state", "action", "type", "entity", "entity_type", "amount", "currency", "reason_code",
        "count", "version", "source", "channel", "result", "decision", "tier", "gate", "risk_score", "symbol",
        "volume", "side", "position",
    ]
    static let allowedSuffixes = ["_id", "_status", "_at", "_amount", "_count", "_type", "_currency"]
    /// Names that identify a person whatever their suffix says (`passport_id`, `tax_id`, `card_type`).
    static let personalFragments = [
        "passport", "tax", "national", "iban", "card", "phone", "email", "ssn", "social", "birth", "licence", "license",
        "document_number",
    ]

    /// Whether a member named `name` may stay in clear (when its value is a scalar).
    public static func isAllowListed(_ name: String) -> Bool {
        guard allowedNames.contains(name) || allowedSuffixes.contains(where: { name.hasSuffix($0) }) else { return false }
        let lowered = name.lowercased()
        return !personalFragments.contains { lowered.contains($0) }
    }

    /// Whether the member `name` with `value` stays in clear.
    public static func staysClear(_ name: String, _ value: JSONValue) -> Bool {
        value.isScalar && isAllowListed(name)
    }
}
