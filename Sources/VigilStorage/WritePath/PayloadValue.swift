public import Foundation
public import VigilCore

/// One member of an outbox payload, typed by what it holds (decision 18).
///
/// The type decides how ``OutboxPayloadRules`` checks it: identifiers and codes are checked for
/// shape only, because Vigil generates them and an id made of digits (a token key id, a sequence)
/// is not a phone number; only ``text(_:)`` is scanned for personal data. There is deliberately
/// no string literal conformance: every string says which kind it is.
public enum PayloadValue: Sendable, Equatable {
    /// An id Vigil generates (UUID, key id, slug): 1–128 characters of `[A-Za-z0-9._:-]`.
    case identifier(String)
    /// A reason code, status, event kind or method: 1–64 characters of `[a-z0-9_.:-]`.
    case code(String)
    /// A decimal string, `-?[0-9]+(\.[0-9]+)?`, as money is stored.
    case amount(String)
    /// A count or sequence number: 0 through ``JSONValue/integerLimit``.
    case count(Int64)
    case boolean(Bool)
    /// A time, rendered RFC 3339 in UTC to the microsecond.
    case time(Date)
    /// Anything that could hold free text; scanned for email addresses and phone-like numbers.
    case text(String)
    /// A list of the scalars above; lists do not nest.
    case list([PayloadValue])

    /// A UUID as an identifier, in its lowercase form.
    public static func identifier(_ id: UUID) -> PayloadValue {
        .identifier(id.uuidString.lowercased())
    }

    /// The value as it is written into the outbox event's JSON.
    public var json: JSONValue {
        switch self {
        case .identifier(let text), .code(let text), .amount(let text), .text(let text): return .string(text)
        case .count(let number): return .integer(number)
        case .boolean(let flag): return .bool(flag)
        case .time(let date): return .string(RFC3339.string(date))
        case .list(let elements): return .array(elements.map(\.json))
        }
    }
}
