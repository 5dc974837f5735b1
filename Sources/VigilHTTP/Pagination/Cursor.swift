public import Foundation
public import VigilCore

/// A keyset position on the wire (`?after=<cursor>`): the sort-key values of the last row a page
/// showed, as base64url of their canonical JSON. Opaque to clients and strict on the way in: a
/// cursor must be canonical JSON of scalars holding exactly the list's sort keys, else it is a 400,
/// never a query. It is not signed: it only says where to resume, and every page is read under the
/// caller's own scopes, so a hand-made position shows nothing a request could not. Lists page by
/// keyset, never OFFSET.
public struct Cursor: Sendable, Equatable {
    /// The sort-key values of the last row shown, by column name (`["created_at": …, "id": …]`).
    public let position: [String: JSONValue]

    /// The longest cursor accepted: a keyset is a few short values.
    static let maximumLength = 1024

    public init(position: [String: JSONValue]) {
        self.position = position
    }

    /// The text sent to clients.
    public var encoded: String {
        Data(CanonicalJSON.bytes(of: .object(position))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Reads a cursor a client sent back to a list sorted by `keys`.
    public init(decoding text: String, keys: Set<String>) throws(Problem) {
        guard (1...Self.maximumLength).contains(text.utf8.count),
            text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) })
        else { throw Problem.invalidCursor() }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let value = try? JSONDecoder().decode(JSONValue.self, from: data),
            let position = value.objectValue, Set(position.keys) == keys, position.values.allSatisfy(\.isScalar),
            Data(CanonicalJSON.bytes(of: value)) == data
        else { throw Problem.invalidCursor() }
        self.position = position
    }
}

/// A page request read from `?after=&limit=`.
public struct PageRequest: Sendable, Equatable {
    public let after: Cursor?
    public let limit: Int

    public init(after: Cursor?, limit: Int) {
        self.after = after
        self.limit = limit
    }

    /// Reads `after` (a cursor over `keys`) and `limit` from a query: `limit` is 1…`maximumLimit`
    /// (default `defaultLimit`).
    public init(query: [String: String], keys: Set<String>, defaultLimit: Int = 50, maximumLimit: Int = 200) throws(Problem) {
        after = try query["after"].map { text throws(Problem) in try Cursor(decoding: text, keys: keys) }
        guard let text = query["limit"] else {
            limit = defaultLimit
            return
        }
        guard let number = Int(text), (1...maximumLimit).contains(number) else {
            throw Problem(
                status: .badRequest, slug: "invalid-limit", title: "The limit is not a page size",
                detail: "limit is a whole number from 1 to \(maximumLimit).",
                errors: [.init(pointer: "/limit", code: "out_of_range", detail: "limit is a whole number from 1 to \(maximumLimit).")]
            )
        }
        limit = number
    }
}

extension Problem {
    /// 400: `after` is not a cursor Vigil wrote.
    public static func invalidCursor() -> Problem {
        Problem(
            status: .badRequest, slug: "invalid-cursor", title: "The cursor is not one this list gave out",
            detail: "Send back the `next` cursor of the previous page unchanged, or leave `after` out for the first page."
        )
    }
}
