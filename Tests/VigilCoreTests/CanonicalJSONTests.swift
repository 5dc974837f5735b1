import Foundation
import Testing
import VigilCore

@Suite struct CanonicalJSONTests {
    @Test(arguments: [
        (JSONValue.object(["b": 1, "a": 2]), #"{"a":2,"b":1}"#),
        (["a/b": "c/d"], #"{"a/b":"c/d"}"#),
        ("quote \" backslash \\", #""quote \" backslash \\""#),
        ("\u{8}\u{9}\u{a}\u{c}\u{d}", #""\b\t\n\f\r""#),
        ("\u{0}\u{1}\u{1f}\u{7f}", "\"\\u0000\\u0001\\u001f\u{7f}\""),
        ("é😀\u{2028}", "\"é😀\u{2028}\""),
        (.array([1, -1, 0, true, false, .array([]), .object([:])]), "[1,-1,0,true,false,[],{}]"),
        (.integer(JSONValue.integerLimit), "9007199254740991"),
        // UTF-16 order: U+1F600 (surrogate D83D) sorts before U+FF61, unlike code point order.
        (["\u{FF61}": 1, "\u{1F600}": 2, "\u{e9}": 3, "z": 4], "{\"z\":4,\"\u{e9}\":3,\"\u{1F600}\":2,\"\u{FF61}\":1}"),
    ] as [(JSONValue, String)])
    func canonicalText(value: JSONValue, expected: String) {
        #expect(CanonicalJSON.string(of: value) == expected)
    }

    @Test(arguments: [
        ("null", "null is not allowed"),
        (#"{"a":null}"#, "null is not allowed"),
        (#"{"amount":10.5}"#, "fractional numbers"),
        ("9007199254740992", "below 2^53"),
    ])
    func outsideTheHashedSubsetIsRefused(json: String, reason: String) {
        #expect {
            try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        } throws: { error in
            String(describing: error).contains(reason)
        }
    }

    @Test func decodingKeepsTypesApart() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"t":true,"n":1,"s":"1","a":[0]}"#.utf8))
        #expect(value == ["t": true, "n": 1, "s": "1", "a": [0]])
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (Int64(1_795_000_000_123_456), "2026-11-18T11:06:40.123456Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999Z"),
    ])
    func timestampsHaveSixFractionalDigits(microseconds: Int64, expected: String) {
        #expect(RFC3339.string(microsecondsSinceEpoch: microseconds) == expected)
    }
}
