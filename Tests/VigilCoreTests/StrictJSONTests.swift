import Foundation
import Testing

@testable import VigilCore

@Suite struct StrictJSONTests {
    struct Address: Codable, Equatable {
        var city: String
    }

    struct Registration: Codable, Equatable {
        var email: String
        var age: Int?
        var address: Address?
        var tags: [String]?
    }

    @Test func aWellFormedBodyDecodes() throws {
        let value = try StrictJSON.decode(Registration.self, from: Data(#"{"email":"a@b.example","age":30,"address":{"city":"Riga"},"tags":["x"]}"#.utf8))
        #expect(value == Registration(email: "a@b.example", age: 30, address: Address(city: "Riga"), tags: ["x"]))
    }

    @Test func aNullForAKnownOptionalFieldIsAccepted() throws {
        let value = try StrictJSON.decode(Registration.self, from: Data(#"{"email":"a@b.example","age":null}"#.utf8))
        #expect(value == Registration(email: "a@b.example"))
    }

    @Test(arguments: [
        (#"{"email":"a","admin":true}"#, "/admin", "unknown-field"),
        (#"{"email":"a","address":{"city":"Riga","zip":"1"}}"#, "/address/zip", "unknown-field"),
        (#"{"email":"a\u0000b"}"#, "/email", "nul-character"),
        (#"{"email":"a","tags":["ok","x\u0000"]}"#, "/tags/1", "nul-character"),
        (#"{"email":"a","ad\u0000min":1}"#, "/ad\u{0}min", "nul-character"),
        (#"{"email":42}"#, "/email", "type"),
        (#"{"age":3}"#, "/email", "required"),
        (#"{"email":"a","address":{"city":1}}"#, "/address/city", "type"),
        (#"{"email":"a","a/b~c":1}"#, "/a~1b~0c", "unknown-field"),
    ])
    func aBodyBreakingTheRulesIsA400NamingTheField(body: String, pointer: String, code: String) {
        #expect {
            _ = try StrictJSON.decode(Registration.self, from: Data(body.utf8))
        } throws: { error in
            guard let problem = error as? Problem else { return false }
            return problem.status == .badRequest && problem.slug == "malformed-request"
                && problem.errors == [Problem.FieldError(pointer: pointer, code: code, detail: problem.errors.first?.detail ?? "")]
        }
    }

    @Test(arguments: [
        Data("{\"email\":".utf8),
        Data("not json".utf8),
        Data([0x7B, 0x22, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]),
        Data(),
    ])
    func anUnreadableBodyIsA400(body: Data) {
        #expect {
            _ = try StrictJSON.decode(Registration.self, from: body)
        } throws: { error in
            (error as? Problem)?.status == .badRequest && (error as? Problem)?.errors.isEmpty == true
        }
    }

    @Test(arguments: [
        (#"{"email":"a@b.example","email":"x"}"#, "/email"),
        (#"{"email":"a","address":{"city":"Riga","city":"Oslo"}}"#, "/address/city"),
        (#"{"email":"a","tags":["x"],"address":{"city":"Riga"},"tags":[]}"#, "/tags"),
        (#"{"email":"a","em\u0061il":"b"}"#, "/email"),
        (#"{"email":"a","a/b":1,"a\/b":2}"#, "/a~1b"),
        (#"{"email":"a","tags":[{"k":1,"k":2}]}"#, "/tags/0/k"),
        (#"{"email":"\u00e9","\u00e9":1,"e\u0301":2}"#, "/e\u{0301}"),
    ])
    func aRepeatedKeyIsA400NamingTheRepeat(body: String, pointer: String) {
        #expect {
            _ = try StrictJSON.decode(Registration.self, from: Data(body.utf8))
        } throws: { error in
            guard let problem = error as? Problem else { return false }
            return problem.status == .badRequest && problem.slug == "duplicate-key" && problem.errors.map(\.pointer) == [pointer]
                && problem.errors.first?.code == "duplicate-key"
        }
    }

    @Test(arguments: [
        #"{"email":"a","address":{"city":"Riga"},"tags":["a","a"]}"#,
        #"[{"k":1},{"k":2}]"#,
        #"{"a":{"k":1},"b":{"k":1}}"#,
        #"{"s":"quote \" and \\ and \ud83d\ude00","t":"\ud83d\ude00"}"#,
    ])
    func theSameKeyInDifferentObjectsIsNoRepeat(body: String) {
        #expect(DuplicateKeys.first(in: Data(body.utf8)) == nil)
    }
}
