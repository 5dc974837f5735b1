import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VigilCore

@Suite struct HTTPBasicsTests {
    struct ProblemBody: Decodable, Equatable {
        var type: String
        var title: String
        var status: Int
        var detail: String?
        var instance: String?
        var errors: [Problem.FieldError]?
    }

    static func problem(_ response: TestResponse) throws -> ProblemBody {
        #expect(response.headers[.contentType] == "application/problem+json")
        return try JSONDecoder().decode(ProblemBody.self, from: Data(buffer: response.body))
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func healthAndReadinessAnswer() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(String(buffer: health.body) == #"{"status":"ok"}"#)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(String(buffer: ready.body) == #"{"status":"ready"}"#)
        }
    }

    @Test func theHostResolvesTheTenant() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/tenant", method: .get)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == #"{"tenant":"demo"}"#)
        }
    }

    @Test func aHostNoTenantAnswersOnIsA404Problem() async throws {
        let app = try await AppHarness().application(tenants: ["acme": ["acme.test"]])
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/tenant", method: .get)
            #expect(response.status == .notFound)
            #expect(try Self.problem(response).type == "/problems/unknown-tenant")
        }
    }

    @Test func anUnknownRouteIsA404Problem() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/nothing/here", method: .get)
            #expect(response.status == .notFound)
            #expect(try Self.problem(response) == ProblemBody(type: "/problems/not-found", title: "Not found", status: 404, detail: "No resource exists at this address.", instance: "/api/nothing/here"))
        }
    }

    @Test(arguments: [
        (#"{"email":"#, "malformed-request", nil as String?),
        (#"{"email":"a@b.example","admin":true}"#, "malformed-request", "/admin"),
        (#"{"email":"a\u0000b"}"#, "malformed-request", "/email"),
        (#"{"email":5}"#, "malformed-request", "/email"),
        (#"{}"#, "malformed-request", "/email"),
        (#"[1,2]"#, "malformed-request", ""),
    ])
    func anUnreadableBodyIsA400Problem(body: String, slug: String, pointer: String?) async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/test/echo", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            let problem = try Self.problem(response)
            #expect(problem.type == "/problems/\(slug)")
            #expect(problem.errors?.first?.pointer == pointer)
        }
    }

    @Test func aWellFormedBodyReachesTheHandler() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/test/echo", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"email":"a@b.example","amount":5}"#))
            #expect(response.status == .ok)
            #expect(try JSONDecoder().decode(TestRoutes.Echo.self, from: Data(buffer: response.body)) == TestRoutes.Echo(email: "a@b.example", amount: 5))
        }
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
    func aWriteThatIsNotJSONIsA415Problem(contentType: String) async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/tenant", method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: "x=1"))
            #expect(response.status == .unsupportedMediaType)
            #expect(try Self.problem(response).type == "/problems/unsupported-media-type")
        }
    }

    @Test func anOversizedBodyIsA413ProblemWhetherDeclaredOrStreamed() async throws {
        var harness = AppHarness()
        harness.configuration.maxBodyBytes = 1024
        let app = try await harness.application()
        try await app.test(.router) { client in
            let big = ByteBuffer(string: #"{"email":""# + String(repeating: "a", count: 2048) + #""}"#)
            let declared = try await client.execute(uri: "/test/echo", method: .post, headers: Self.json, body: big)
            #expect(declared.status == .contentTooLarge)
            #expect(try Self.problem(declared).type == "/problems/body-too-large")
            // Without Content-Length the handler's collector stops at the limit.
            let streamed = try await client.execute(uri: "/test/echo", method: .post, headers: [.contentType: "application/json", .transferEncoding: "chunked"], body: big)
            #expect(streamed.status == .contentTooLarge)
        }
    }

    @Test(arguments: ["/api/tenant%00", "/api/ten%00ant?x=1", "/healthz?q=%00"])
    func aNULInTheTargetIsA400Problem(uri: String) async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: uri, method: .get)
            #expect(response.status == .badRequest)
            #expect(try Self.problem(response).type == "/problems/malformed-request")
        }
    }

    @Test func anUnexpectedErrorIsABare500ProblemWithoutItsText() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/test/failure", method: .get)
            #expect(response.status == .internalServerError)
            let body = String(buffer: response.body)
            #expect(!body.contains("SELECT"))
            #expect(!body.contains("canary"))
            #expect(try Self.problem(response).type == "/problems/internal-error")
        }
    }

    @Test func everyResponseCarriesARequestIdSecurityHeadersAndTraceparent() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            for uri in ["/healthz", "/api/missing"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(UUID(uuidString: response.headers[HTTPField.Name("X-Request-Id")!] ?? "") != nil)
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[HTTPField.Name("traceparent")!]?.hasPrefix("00-") == true)
            }
        }
    }

    @Test func aCallersRequestIdAndTraceAreContinued() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let headers: HTTPFields = [
                HTTPField.Name("X-Request-Id")!: "abc-123",
                HTTPField.Name("traceparent")!: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ]
            let response = try await client.execute(uri: "/healthz", method: .get, headers: headers)
            #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "abc-123")
            let parent = try #require(response.headers[HTTPField.Name("traceparent")!])
            #expect(parent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
            #expect(!parent.contains("00f067aa0ba902b7"))
            #expect(parent.hasSuffix("-01"))

            let unsafe = try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "has space"])
            #expect(unsafe.headers[HTTPField.Name("X-Request-Id")!] != "has space")
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/healthz", method: .get)
            _ = try await client.execute(uri: "/api/missing", method: .get)
            // The router test client has no peer address: only the operator's token opens the metrics.
            let refused = try await client.execute(uri: "/metrics", method: .get)
            #expect(refused.status == .forbidden)
            let wrong = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer not-the-token"])
            #expect(wrong.status == .forbidden)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(AppHarness.metricsToken)"])
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"vigil_http_requests_total{route="/healthz",method="GET",status="200"} 1"#))
            #expect(text.contains(#"status="404""#))
            #expect(text.contains("vigil_http_request_duration_seconds_bucket"))
        }
    }

    @Test func theClientAddressComesFromTrustedProxiesOnly() async throws {
        var harness = AppHarness()
        harness.configuration.port = 0
        let untrusted = try await harness.application()
        try await untrusted.test(.live) { client in
            let response = try await client.execute(uri: "/test/client", method: .get, headers: [HTTPField.Name("X-Forwarded-For")!: "203.0.113.9"])
            #expect(String(buffer: response.body) == #"{"address":"127.0.0.1"}"#)
        }
        harness.configuration.trustedProxies = try TrustedProxies(parsing: "127.0.0.1/32")
        let trusted = try await harness.application()
        try await trusted.test(.live) { client in
            let response = try await client.execute(uri: "/test/client", method: .get, headers: [HTTPField.Name("X-Forwarded-For")!: "203.0.113.9"])
            #expect(String(buffer: response.body) == #"{"address":"203.0.113.9"}"#)
        }
    }
}
