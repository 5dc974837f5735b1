import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing
import VigilApp
import VigilHTTP
import VigilCore
import VigilStorage
import VigilTesting

@Suite struct IdempotencyTests {
    static func entries(_ server: DatabaseServer) async throws -> Int64 {
        try await AppHarness.withTenantDatabase(server) { client in
            try await client.query("SELECT count(*) FROM audit_entries", logger: TestPostgres.logger).decode(Int64.self).reduce(0, +)
        }
    }

    static func storedBodies(_ server: DatabaseServer) async throws -> [String] {
        try await AppHarness.withTenantDatabase(server) { client in
            try await client.query("SELECT response_body FROM idempotency_records", logger: TestPostgres.logger).decode(Data.self)
                .reduce(into: [String]()) { $0.append(String(decoding: $1, as: UTF8.self)) }
        }
    }

    static func post(_ client: some TestClientProtocol, _ path: String, key: String?, body: String) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func aRetryReplaysTheFirstResponseAndWritesNothing() async throws {
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        try await app.test(.router) { client in
            let first = try await Self.post(client, "/api/test/notes", key: "key-1", body: #"{"text":"hello"}"#)
            #expect(first.status == .created)
            let retry = try await Self.post(client, "/api/test/notes", key: "key-1", body: #"{"text":"hello"}"#)
            #expect(retry.status == .created)
            #expect(retry.body == first.body)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await Self.entries(server) == 1)
            #expect(try await Self.storedBodies(server).allSatisfy { !$0.contains("hello") }, "a stored response is sealed at rest")

            let other = try await Self.post(client, "/api/test/notes", key: "key-1", body: #"{"text":"different"}"#)
            #expect(other.status == .unprocessableContent)
            #expect(String(buffer: other.body).contains("/problems/idempotency-key-reused"))

            let withoutKey = try await Self.post(client, "/api/test/notes", key: nil, body: #"{"text":"hello"}"#)
            #expect(withoutKey.status == .created && withoutKey.body != first.body)
            #expect(try await Self.entries(server) == 2)
        }
    }

    @Test func onlySuccessfulResponsesAreKept() async throws {
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        try await app.test(.router) { client in
            let refused = try await Self.post(client, "/api/test/notes", key: "key-2", body: #"{"text":""}"#)
            #expect(refused.status == .unprocessableContent)
            // Nothing was stored for the refusal, so the key is free for the corrected request.
            let corrected = try await Self.post(client, "/api/test/notes", key: "key-2", body: #"{"text":"fixed"}"#)
            #expect(corrected.status == .created)
            #expect(try await Self.entries(server) == 1)
        }
    }

    @Test func twoInFlightDuplicatesGiveOneSuccessAndOneConflict() async throws {
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        try await app.test(.router) { client in
            async let first = Self.post(client, "/api/test/slow-notes", key: "key-3", body: #"{"text":"slow"}"#)
            async let second = Self.post(client, "/api/test/slow-notes", key: "key-3", body: #"{"text":"slow"}"#)
            let statuses = try await [first.status, second.status].map(\.code).sorted()
            #expect(statuses == [201, 409])
            #expect(try await Self.entries(server) == 1)
        }
    }

    @Test func startUpRefusesAMasterKeyThatDidNotWrapTheTenantKeys() async throws {
        let server = try await AppHarness.environment()
        let first = try await buildApplication(AppHarness().configuration, database: server, dependencies: AppDependencies(logger: TestPostgres.logger, masterKey: .generate(), domains: AppHarness().domains))
        try await first.test(.router) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
        }
        let second = try await buildApplication(AppHarness().configuration, database: server, dependencies: AppDependencies(logger: TestPostgres.logger, masterKey: .generate(), domains: AppHarness().domains))
        await #expect(throws: KeyringError.self) {
            try await second.test(.router) { _ in }
        }
    }

    @Test func aMalformedKeyIsRefused() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await Self.post(client, "/api/test/notes", key: String(repeating: "k", count: 256), body: #"{"text":"x"}"#)
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("/problems/idempotency-key-refused"))
        }
    }

    @Test func authenticationRoutesRefuseTheHeader() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let refused = try await Self.post(client, "/api/admin/auth/login", key: "key-4", body: #"{"email":"a@b.example","password":"x"}"#)
            #expect(refused.status == .badRequest)
            #expect(String(buffer: refused.body).contains("/problems/idempotency-key-refused"))
            let plain = try await Self.post(client, "/api/admin/auth/login", key: nil, body: #"{"email":"a@b.example","password":"x"}"#)
            #expect(plain.status == .unauthorized)
        }
    }

    @Test func aRouteThatRequiresAKeyRefusesARequestWithoutOne() async throws {
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        try await app.test(.router) { client in
            let refused = try await Self.post(client, "/api/test/payments", key: nil, body: #"{"text":"pay"}"#)
            #expect(refused.status == .badRequest)
            #expect(refused.headers[.contentType] == "application/problem+json")
            #expect(String(buffer: refused.body).contains("/problems/idempotency-key-required"))
            #expect(try await Self.entries(server) == 0)
            let keyed = try await Self.post(client, "/api/test/payments", key: "pay-1", body: #"{"text":"pay"}"#)
            #expect(keyed.status == .created)
            #expect(try await Self.entries(server) == 1)
        }
    }

    @Test func aWriteUnderAClaimOutsideTheResponsePathIsRefusedAndCommitsNothing() async throws {
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        try await app.test(.router) { client in
            let keyed = try await Self.post(client, "/api/test/misused-write", key: "misuse-1", body: #"{"text":"twice?"}"#)
            #expect(keyed.status == .internalServerError)
            #expect(try await Self.entries(server) == 0)
            let plain = try await Self.post(client, "/api/test/misused-write", key: nil, body: #"{"text":"once"}"#)
            #expect(plain.status == .created)
            #expect(try await Self.entries(server) == 1)
        }
    }
}
