import Foundation
import Testing
import VigilCore
import VigilHTTP

@Suite struct CursorTests {
    @Test(arguments: [
        ["id": JSONValue.string("0b9c1f0e-0000-4000-8000-000000000000")],
        ["created_at": .string("2026-11-29T22:38:00.123456Z"), "id": .integer(42)],
        ["amount": .string("10000.00"), "flag": .bool(true), "name": .string("a/b+c?é")],
    ])
    func aCursorRoundTripsThroughItsText(position: [String: JSONValue]) throws {
        let cursor = Cursor(position: position)
        let text = cursor.encoded
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(try Cursor(decoding: text, keys: Set(position.keys)) == cursor)
    }

    static func base64url(_ json: String) -> String {
        Data(json.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test(arguments: [
        "",
        "not a cursor!",
        String(repeating: "A", count: 1025),
        base64url("[1,2]"),
        base64url("{}"),
        base64url(#"{"id":{"nested":1}}"#),
        // Another list's keys, or one key short.
        base64url(#"{"name":"a"}"#),
        base64url(#"{"created_at":"2026-11-29T22:38:00.123456Z"}"#),
        // Valid JSON, but not the canonical form Vigil writes: a hand-made cursor.
        base64url(#"{ "created_at": "x", "id": 1 }"#),
        base64url(#"{"id":1,"created_at":"x"}"#),
    ])
    func anythingVigilDidNotWriteIsA400(text: String) {
        #expect(throws: Problem.invalidCursor()) { try Cursor(decoding: text, keys: ["created_at", "id"]) }
    }

    @Test func aPageRequestReadsAfterAndLimit() throws {
        let cursor = Cursor(position: ["id": .integer(7)])
        #expect(try PageRequest(query: [:], keys: ["id"]) == PageRequest(after: nil, limit: 50))
        #expect(try PageRequest(query: ["after": cursor.encoded, "limit": "10"], keys: ["id"]) == PageRequest(after: cursor, limit: 10))
        #expect(throws: Problem.invalidCursor()) { try PageRequest(query: ["after": cursor.encoded], keys: ["created_at", "id"]) }
        for limit in ["0", "201", "-1", "ten", "1.5"] {
            #expect(throws: Problem.self) { try PageRequest(query: ["limit": limit], keys: ["id"]) }
        }
    }
}
