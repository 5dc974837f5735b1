import Foundation
import VigilCore

/// Why an outbox payload was refused: it could carry personal data out of Vigil, or a member is
/// not the kind of value its type says. Names the member, never its value (which may be personal).
public struct OutboxPayloadViolation: Error, CustomStringConvertible, Sendable, Equatable {
    public let member: String
    public let reason: String
    public var description: String { "Outbox payload member '\(member)' \(reason)" }
}

/// Outbox payloads carry ids and allow-listed, typed scalar fields only (decision 18). Checked on
/// every emit, so no event the product (or its test suite) writes can ship customer PII.
///
/// Each member is checked by its ``PayloadValue`` type: identifiers, codes, amounts, counts and
/// times for shape, and only free ``PayloadValue/text(_:)`` for content.
public enum OutboxPayloadRules {
    /// An email address (`local@domain.tld`) anywhere, or a value shaped like a phone or account
    /// number: 9 or more digits with nothing but `+`, spaces, dots, dashes or brackets between them.
    /// Scanned by hand: it runs on every text member of every event.
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

    /// `[A-Za-z0-9._:-]{1,128}`.
    static func isIdentifier(_ text: String) -> Bool {
        isToken(text, maximumLength: 128, uppercase: true)
    }

    /// `[a-z0-9_.:-]{1,64}` with at least one letter: a code names something, and a run of digits
    /// (a phone number) is not a name.
    static func isCode(_ text: String) -> Bool {
        isToken(text, maximumLength: 64, uppercase: false) && text.utf8.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }

    /// 1 to `maximumLength` bytes of letters (lowercase only unless `uppercase`), digits, `.`, `_`, `:` and `-`.
    private static func isToken(_ text: String, maximumLength: Int, uppercase: Bool) -> Bool {
        let bytes = text.utf8
        return (1...maximumLength).contains(bytes.count) && bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                return true
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return uppercase
            default:
                return false
            }
        }
    }

    /// Whether `date` renders as a four-digit-year RFC 3339 time (0001–9999, after rounding to the
    /// microsecond); beyond that the rendering would be wrong or trap.
    static func isRenderable(_ date: Date) -> Bool {
        let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        return microseconds.isFinite && microseconds >= -62_135_596_800_000_000 && microseconds < 253_402_300_800_000_000
    }

    /// Refuses `payload` unless every member name is allow-listed (``SealingPolicy/isAllowListed(_:)``)
    /// and every value is what its type says; only text is scanned for personal data.
    public static func check(_ payload: [String: PayloadValue]) throws(OutboxPayloadViolation) {
        for (name, value) in payload {
            guard SealingPolicy.isAllowListed(name) else {
                throw OutboxPayloadViolation(member: name, reason: "is not on the allow-list of non-personal fields")
            }
            if case .list(let elements) = value {
                for (index, element) in elements.enumerated() {
                    if case .list = element {
                        throw OutboxPayloadViolation(member: name, reason: "item \(index) is a list; lists hold scalars only")
                    }
                    if let reason = refusal(of: element) ?? misplaced(element, in: name) {
                        throw OutboxPayloadViolation(member: name, reason: "item \(index) \(reason)")
                    }
                }
            } else if let reason = refusal(of: value) ?? misplaced(value, in: name) {
                throw OutboxPayloadViolation(member: name, reason: reason)
            }
        }
    }

    /// Why a value of its type may not stand in the member `name`: identifiers, counts, amounts and
    /// times are never content-scanned, so each goes only where its name says it belongs (a phone
    /// number typed as an identifier cannot hide in `amount`).
    static func misplaced(_ value: PayloadValue, in name: String) -> String? {
        func named(_ names: Set<String>, suffixes: [String]) -> Bool {
            names.contains(name) || suffixes.contains { name.hasSuffix($0) }
        }
        switch value {
        case .identifier:
            return named(["id", "currency", "symbol"], suffixes: ["_id", "_currency"])
                ? nil : "holds an identifier; identifiers go in members named id, …_id, currency or symbol"
        case .count:
            return named(["count", "version", "position"], suffixes: ["_count"])
                ? nil : "holds a count; counts go in members named count, version, position or …_count"
        case .amount:
            return named(["amount", "volume", "risk_score"], suffixes: ["_amount"])
                ? nil : "holds an amount; amounts go in members named amount, …_amount, volume or risk_score"
        case .time:
            return name.hasSuffix("_at") ? nil : "holds a time; times go in members named …_at"
        case .code, .boolean, .text, .list:
            return nil
        }
    }

    /// Why the scalar `value` is refused, or nil when it is what its type says.
    private static func refusal(of value: PayloadValue) -> String? {
        switch value {
        case .identifier(let text):
            return isIdentifier(text) ? nil : "is not an identifier: 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'"
        case .code(let text):
            return isCode(text) ? nil : "is not a code: 1 to 64 characters of a-z, 0-9, '.', '_', ':' or '-', with a letter"
        case .amount(let text):
            return DecimalText.isDecimal(text) ? nil : "is not a decimal amount such as \"100.00\""
        case .count(let number):
            return (0...JSONValue.integerLimit).contains(number) ? nil : "is not a count from 0 to \(JSONValue.integerLimit)"
        case .boolean:
            return nil
        case .time(let date):
            return isRenderable(date) ? nil : "is a time outside the years 0001 to 9999"
        case .text(let text):
            // PostgreSQL's jsonb refuses U+0000: refused here, it is the caller's error rather than a failed insert.
            if text.utf8.contains(0) { return "holds a NUL character, which PostgreSQL cannot store" }
            return looksPersonal(text) ? "looks like personal data (an email address or a phone number)" : nil
        case .list:
            return nil  // Lists are taken apart by `check`.
        }
    }
}
