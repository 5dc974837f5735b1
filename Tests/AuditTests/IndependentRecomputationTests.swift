import Audit
import Foundation
import PostgresNIO
import Subprocess
import Testing
import VigilCore
import VigilStorage
import VigilTesting

/// Checks Vigil's canonical form and chain against Python's `rfc8785` and `hashlib`
/// (Tests/tools/recompute_chain.py), an implementation that shares no code with Vigil.
@Suite struct IndependentRecomputationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var script: String { repository.appendingPathComponent("Tests/tools/recompute_chain.py").path }

    /// Runs python3 through swift-subprocess (Foundation's Process blocks a cooperative thread while it waits).
    static func python(_ arguments: [String], input: String = "") async throws -> (status: Int32, output: String) {
        let result = try await Subprocess.run(
            .name("python3"),
            arguments: Arguments(arguments),
            input: .string(input),
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20)
        )
        let status: Int32
        if case .exited(let code) = result.terminationStatus { status = code } else { status = -1 }
        return (status, [result.standardOutput, result.standardError].compactMap { $0 }.joined(separator: "\n"))
    }

    /// A JSON rendering that is deliberately not canonical (Foundation's, unsorted), for Python to canonicalise.
    static func foundationObject(_ value: JSONValue) -> Any {
        switch value {
        case .object(let members): return members.mapValues(foundationObject)
        case .array(let elements): return elements.map(foundationObject)
        case .string(let text): return text
        case .bool(let flag): return flag
        case .integer(let number): return NSNumber(value: number)
        }
    }

    @Test func theChainHeadIsTheSameWhenPythonRecomputesIt() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            let customer = UUID()
            let awkward: [String: JSONValue] = [
                "note": "a/b \"quoted\" back\\slash\ttab\nnewline \u{1} é 😀 \u{2028}", "ｶ": "half-width key", "😀": "emoji key",
                "count": -9_007_199_254_740_991, "flag": false, "list": [1, "two", true, ["nested": []]],
            ]
            for index in 0..<12 {
                try await fixture.tenant.write(WriteContext(actor: AuditActor(kind: .staff, id: "s\(index)"), traceID: "0af7651916cd43dd8448eb211c80319c"), logger: fixture.logger) { unit in
                    try await unit.record(AuditRecord(
                        action: "widget.changed", entityType: "widget", entityID: "\(index)", customerID: index % 3 == 0 ? customer : nil,
                        reason: index % 2 == 0 ? "because\n\(index)" : nil, details: awkward, balanceBefore: "10000.00", balanceAfter: "9999.99"
                    ))
                    try await unit.emit(OutboxEvent(aggregateType: "widget", aggregateID: "\(index)", type: "widget.changed", payload: [:]))
                }
            }
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            guard case .intact(12, let head) = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger) else {
                Issue.record("the chain should verify")
                return
            }
            let export = try await AuditExport.lines(on: fixture.tenant.client, logger: fixture.logger) { entry in
                try JSONSerialization.data(withJSONObject: Self.foundationObject(entry.canonicalValue))
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-export-\(UUID().uuidString).jsonl")
            try export.write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let (status, output) = try await Self.python([Self.script, file.path])
            #expect(status == 0, "\(output)")
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "head \(head) entries 12")
        }
    }

    @Test func theWorkedExampleInTheDocsHoldsInSwiftAndInPython() async throws {
        let document = try String(contentsOf: Self.repository.appendingPathComponent("docs/audit-format.md"), encoding: .utf8)
        func block(_ name: String) throws -> String {
            let pattern = try Regex("```[a-z]+ \(name)\\n([\\s\\S]*?)\\n```")
            let match = try #require(document.firstMatch(of: pattern))
            return String(try #require(match.output[1].substring))
        }
        var previous = ChainHash.genesis
        for index in 1...2 {
            let entry = try JSONDecoder().decode(JSONValue.self, from: Data(try block("worked-entry-\(index)").utf8))
            #expect(CanonicalJSON.string(of: entry) == (try block("worked-canonical-\(index)")))
            let hashLines = try block("worked-hash-\(index)").split(separator: "\n").map(String.init)
            #expect(hashLines.first == "prev_hash \(Hex.string(previous))")
            let hash = ChainHash.hash(previous: previous, canonicalEntry: CanonicalJSON.bytes(of: entry))
            #expect(hashLines.last == "hash \(Hex.string(hash))")
            previous = hash
        }
        let (status, output) = try await Self.python([Self.script, "--doc", Self.repository.appendingPathComponent("docs/audit-format.md").path])
        #expect(status == 0, "\(output)")
        #expect(output.contains(Hex.string(previous)))
    }

    @Test func theCanonicaliserAgreesWithPythonsRFC8785() async throws {
        let values: [JSONValue] = [
            ["b": 1, "a": 2, "aa": [], "A": [:]],
            ["\u{e9}": 1, "\u{1F600}": 2, "\u{FF61}": 3, "z": 4, "\u{7f}": 5],
            .string("\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}\"\\/<>&'\u{2028}\u{2029}\u{10FFFF}"),
            [-9_007_199_254_740_991, 9_007_199_254_740_991, 0, -1, true, false],
            ["nested": ["deeper": ["x": ["y", ["z": "w"]]]]],
            "",
        ]
        let input = try values.map { value -> String in
            let data = try JSONSerialization.data(withJSONObject: Self.foundationObject(value), options: [.fragmentsAllowed])
            return String(decoding: data, as: UTF8.self)
        }.joined(separator: "\n")
        let program = "import sys, json, rfc8785\nfor line in sys.stdin.read().split('\\n'):\n    print(rfc8785.dumps(json.loads(line)).hex())"
        let (status, output) = try await Self.python(["-c", program], input: input)
        #expect(status == 0, "\(output)")
        let expected = output.split(separator: "\n").map(String.init)
        #expect(expected.count == values.count)
        for (value, python) in zip(values, expected) {
            #expect(CanonicalJSON.bytes(of: value).map { String(format: "%02x", $0) }.joined() == python, "\(value)")
        }
    }
}
