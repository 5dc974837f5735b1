public import VigilCore

/// Why an outbox payload was refused: it could carry personal data out of Vigil.
public struct OutboxPayloadViolation: Error, CustomStringConvertible, Sendable, Equatable {
    public let member: String
    public let reason: String
    public var description: String { "Outbox payload member '\(member)' \(reason)" }
}

/// Outbox payloads carry ids and allow-listed scalar fields only (decision 18). Checked on every
/// emit, so no event the product (or its test suite) writes can ship customer PII.
public enum OutboxPayloadRules {
    /// An email address anywhere, or a whole value shaped like a phone number (digits with `+`,
    /// spaces, dots, dashes or brackets) that is neither a plain decimal nor a date.
    static func looksPersonal(_ text: String) -> Bool {
        if text.contains(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/) { return true }
        guard text.wholeMatch(of: /\+?[0-9][0-9 ().\-]{5,}[0-9]/) != nil else { return false }
        let digits = text.filter(\.isNumber).count
        return digits >= 7 && text.wholeMatch(of: /-?[0-9]+(\.[0-9]+)?/) == nil && text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) == nil
    }

    public static func check(_ payload: [String: JSONValue]) throws(OutboxPayloadViolation) {
        for (name, value) in payload {
            guard SealingPolicy.isAllowListed(name) else {
                throw OutboxPayloadViolation(member: name, reason: "is not on the allow-list of non-personal fields")
            }
            let scalars: [JSONValue]
            switch value {
            case .array(let elements): scalars = elements
            case .object: throw OutboxPayloadViolation(member: name, reason: "is an object; payloads hold scalars and arrays of scalars")
            default: scalars = [value]
            }
            for scalar in scalars {
                guard scalar.isScalar else {
                    throw OutboxPayloadViolation(member: name, reason: "holds a nested value; payloads hold scalars and arrays of scalars")
                }
                if let text = scalar.stringValue, looksPersonal(text) {
                    throw OutboxPayloadViolation(member: name, reason: "looks like personal data (an email address or a phone number)")
                }
            }
        }
    }
}
