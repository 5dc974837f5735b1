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
    /// An email address (`local@domain.tld`) anywhere, or a value shaped like a phone or account
    /// number: 9 or more digits with nothing but `+`, spaces, dots, dashes or brackets between them.
    /// Scanned by hand: it runs on every string of every event.
    static let phoneSeparators = Set("+ .-()".utf8)

    static func looksPersonal(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0 {
            let domain = bytes[(at + 1)...]
            if let dot = domain.lastIndex(of: UInt8(ascii: ".")), dot > at + 1, bytes.count - dot > 2 { return true }
        }
        var digits = 0
        var separatorsSeen = 0
        for byte in bytes {
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits += 1
            } else if phoneSeparators.contains(byte) {
                separatorsSeen += 1
            } else {
                return false
            }
        }
        // A decimal amount has one dot and is not personal, however long.
        let isDecimalAmount = separatorsSeen == 1 && bytes.filter { $0 == UInt8(ascii: ".") }.count == 1
        return digits >= 9 && !isDecimalAmount
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
                if case .integer(let number) = scalar, abs(number) >= 100_000_000, !SealingPolicy.isCounterOrIdentifier(name) {
                    throw OutboxPayloadViolation(member: name, reason: "is a number long enough to be a phone or account number; send it as an id or a decimal string")
                }
            }
        }
    }
}
