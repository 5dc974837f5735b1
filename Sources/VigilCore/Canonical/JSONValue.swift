/// The JSON Vigil hashes and seals: objects, arrays, strings, booleans and integers below 2^53.
///
/// There is no `null` (an absent value is an omitted key) and no fractional number (decimals are
/// strings exactly as stored), so every value has exactly one canonical form (decision 17).
public enum JSONValue: Sendable, Hashable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case bool(Bool)
    case integer(Int64)

    /// The largest magnitude an integer may have: beyond it, I-JSON readers lose precision.
    public static let integerLimit: Int64 = (1 << 53) - 1

    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// Whether this is a string, boolean or integer.
    public var isScalar: Bool {
        switch self {
        case .string, .bool, .integer: return true
        case .object, .array: return false
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

/// Why a JSON document is outside the hashed subset.
public struct JSONValueError: Error, CustomStringConvertible, Sendable, Equatable {
    public let pointer: String
    public let reason: String
    public var description: String { "\(pointer.isEmpty ? "/" : pointer): \(reason)" }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        // Objects and arrays first, decoding members so that a nested error keeps its own reason.
        if let object = try? decoder.container(keyedBy: MemberName.self) {
            var members: [String: JSONValue] = [:]
            for name in object.allKeys { members[name.stringValue] = try object.decode(JSONValue.self, forKey: name) }
            self = .object(members)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        let container = try decoder.singleValueContainer()
        let pointer = "/" + decoder.codingPath.map(\.stringValue).joined(separator: "/")
        if container.decodeNil() {
            throw JSONValueError(pointer: pointer, reason: "null is not allowed; omit the key instead")
        }
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            guard abs(value) <= Self.integerLimit else {
                throw JSONValueError(pointer: pointer, reason: "integers must be below 2^53; write larger numbers as strings")
            }
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if (try? container.decode(Double.self)) != nil {
            throw JSONValueError(pointer: pointer, reason: "fractional numbers are not allowed; write decimals as strings")
        } else {
            throw JSONValueError(pointer: pointer, reason: "not a JSON value Vigil can hash")
        }
    }

    private struct MemberName: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .object(let members): try container.encode(members)
        case .array(let elements): try container.encode(elements)
        case .string(let text): try container.encode(text)
        case .bool(let flag): try container.encode(flag)
        case .integer(let number): try container.encode(number)
        }
    }
}
