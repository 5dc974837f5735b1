import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VigilTesting

/// Requests carrying canary personal data and secrets through every place a request can put
/// them; none may reach the logs.
@Suite struct LogRedactionTests {
    static let canaries = [
        "canary.email@example.org", "+44 7700 900123", "Canary-Passw0rd!", "canary-refresh-token-5f2a9c",
        "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5", "canary.fail@example.org",
    ]

    @Test func noCanaryReachesTheLogs() async throws {
        let logs = CapturedLogs()
        var harness = AppHarness()
        harness.logger = logs.logger(level: .trace)
        let app = try await harness.application()
        try await app.test(.router) { client in
            let json: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(Self.canaries[4])", .cookie: "refresh=\(Self.canaries[3])"]
            let body = #"{"email":"\#(Self.canaries[0])","phone":"\#(Self.canaries[1])","password":"\#(Self.canaries[2])"}"#
            _ = try await client.execute(uri: "/test/echo", method: .post, headers: json, body: ByteBuffer(string: body))
            _ = try await client.execute(uri: "/test/echo", method: .post, headers: json, body: ByteBuffer(string: #"{"email":"\#(Self.canaries[0])","extra":"\#(Self.canaries[2])"}"#))
            _ = try await client.execute(uri: "/api/customers/\(Self.canaries[0])?phone=\(Self.canaries[1].replacingOccurrences(of: " ", with: "%20"))", method: .get)
            _ = try await client.execute(uri: "/test/failure", method: .get, headers: json)
            _ = try await client.execute(uri: "/api/tenant", method: .get, headers: [.authorization: "Bearer \(Self.canaries[3])"])
        }
        let lines = logs.all
        #expect(lines.contains { $0.contains(#""message":"request""#) })
        #expect(lines.contains { $0.contains("Unhandled error") })
        for canary in Self.canaries {
            #expect(!lines.contains { $0.contains(canary) }, "canary \(canary) leaked into the logs")
        }
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not a JSON line: \(line)")
        }
    }
}
