import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Logging
import PostgresNIO
import Prometheus
import VigilApp
import VigilCore
import VigilStorage
import VigilTesting

/// Builds the real application on a fresh test catalog, with the tenants asked for.
struct AppHarness {
    /// Default tenants: `demo` answers on localhost, as in the demo (the test client's Host).
    static let defaultTenants = ["demo": ["localhost", "127.0.0.1"], "acme": ["acme.test"]]

    var configuration = AppConfiguration()
    var logger: Logger = TestPostgres.logger
    var metrics = PrometheusCollectorRegistry()
    var routes: (@Sendable (Router<VigilRequestContext>, RouterGroup<VigilRequestContext>) -> Void)? = TestRoutes.register
    /// bcrypt at its lowest cost: the tests exercise the flows, not the hash's strength.
    var identitySettings: IdentitySettings = {
        var settings = IdentitySettings()
        settings.bcryptCost = 4
        return settings
    }()

    func application(tenants: [String: [String]] = Self.defaultTenants) async throws -> some ApplicationProtocol {
        try await application(server: try await TestPostgres.shared.environment(tenants: tenants))
    }

    /// Runs `body` as the superuser on tenant `slug`'s database of `server`, to inspect what a request wrote.
    static func withTenantDatabase<Result: Sendable>(
        _ server: DatabaseServer, slug: String = "demo", _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let logger = TestPostgres.logger
        guard let record = try await DatabaseBootstrap(server: server).withCatalog(logger: logger, { try await $0.tenant(slug: slug, logger: logger) }) else {
            throw HarnessError.noSuchTenant(slug)
        }
        return try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: record.databaseName), logger: logger, body)
    }

    enum HarnessError: Error { case noSuchTenant(String) }

    /// The application on an environment the test made itself (to inspect its databases).
    func application(server: DatabaseServer) async throws -> some ApplicationProtocol {
        try await buildApplication(
            configuration,
            database: server,
            dependencies: AppDependencies(
                logger: logger, metrics: metrics, masterKey: .generate(), additionalRoutes: routes, identitySettings: identitySettings
            )
        )
    }
}

/// Routes only the tests register, to drive the platform's middleware through a handler of
/// their own: a strict JSON endpoint, one that fails unexpectedly, one that echoes the client
/// address; and, in the tenant's `/api`, writes through the unit of work (one of them slow) and one
/// write that bypasses it, which the audited-routes walk must catch.
enum TestRoutes {
    static let paths: Set<String> = ["/test/echo", "/test/failure", "/test/client"]

    struct NoteInput: Codable {
        var text: String
    }

    struct Note: Codable, Equatable, ResponseEncodable {
        var id: String
        var text: String
    }

    struct Echo: Codable, Equatable, ResponseEncodable {
        var email: String
        var phone: String?
        var password: String?
        var amount: Int?
    }

    struct UnexpectedFailure: Error, CustomStringConvertible {
        let description: String
    }

    struct Client: ResponseEncodable {
        let address: String?
    }

    @Sendable static func register(_ router: Router<VigilRequestContext>, _ api: RouterGroup<VigilRequestContext>) {
        api.post("test/notes") { request, context in try await createNote(request, context, pause: nil) }
        api.post("test/slow-notes") { request, context in try await createNote(request, context, pause: 0.6) }
        api.post("test/unaudited") { _, context -> HTTPResponse.Status in
            guard let tenant = context.tenant else { throw Problem.unknownTenant() }
            // Commits a change on the application role without the unit of work: what the walk must catch.
            try await tenant.client.query(
                """
                INSERT INTO idempotency_records (principal, route, key, request_hash, response_status, response_body, key_version, expires_at)
                VALUES ('', 'unaudited', \(UUID().uuidString), '\\x00'::bytea, 200, ''::bytea, 1, now())
                """,
                logger: context.logger
            )
            return .created
        }
        router.post("test/echo") { request, context -> Echo in
            try await request.decodeStrictJSON(as: Echo.self, context: context)
        }
        router.get("test/failure") { _, _ -> String in
            throw UnexpectedFailure(description: "SELECT secret FROM customers WHERE email = 'canary.fail@example.org'")
        }
        router.get("test/client") { _, context -> Client in
            Client(address: context.clientAddress?.description)
        }
    }

    static func createNote(_ request: Request, _ context: VigilRequestContext, pause: Double?) async throws -> WrittenResponse {
        let input = try await request.decodeStrictJSON(as: NoteInput.self, context: context)
        guard let tenant = context.tenant else { throw Problem.unknownTenant() }
        return try await tenant.respond(to: context, status: .created, sourceService: "test") { unit in
            guard !input.text.isEmpty else {
                throw Problem(status: .unprocessableContent, slug: "empty-note", title: "A note needs text")
            }
            if let pause { for try await _ in try await unit.connection.query("SELECT pg_sleep(\(pause))", logger: unit.logger) {} }
            let id = UUID().uuidString.lowercased()
            try await unit.record(AuditRecord(action: "note.created", entityType: "note", entityID: id, details: ["text": .string(input.text)]))
            try await unit.emit(OutboxEvent(aggregateType: "note", aggregateID: id, type: "note.created", payload: ["note_id": .string(id)]))
            return Note(id: id, text: input.text)
        }
    }
}
