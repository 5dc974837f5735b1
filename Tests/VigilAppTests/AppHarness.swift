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
import VigilHTTP
import VigilStorage
import VigilTesting

/// Builds the real application on a fresh test catalog, with the tenants asked for: every
/// domain Vigil runs (identity with a low bcrypt cost) plus the tests' own domain.
struct AppHarness {
    /// Default tenants: `demo` answers on localhost, as in the demo (the test client's Host).
    static let defaultTenants = ["demo": ["localhost", "127.0.0.1"], "acme": ["acme.test"]]

    var configuration: AppConfiguration = {
        var configuration = AppConfiguration()
        // Parallel-request tests queue on one row lock; the production wait would turn their tail into 503s.
        configuration.databaseLimits = TestPostgres.patientLimits
        configuration.metricsAccess.token = AppHarness.metricsToken
        return configuration
    }()
    static let metricsToken = "harness-metrics-token"
    var logger: Logger = TestPostgres.logger
    var metrics = PrometheusCollectorRegistry()
    var clock: WallClock = .system
    /// bcrypt at its lowest cost: the tests exercise the flows, not the hash's strength.
    var identitySettings: IdentitySettings = {
        var settings = IdentitySettings()
        settings.bcryptCost = 4
        return settings
    }()
    /// Domains the test adds after Vigil's own.
    var extraDomains: [Domain] = [TestRoutes.domain]

    /// Vigil's domain list, with identity's settings replaced by the test's.
    var domains: [Domain] {
        VigilDomains.all.map { $0.name == "identity" ? .identity(settings: identitySettings) : $0 } + extraDomains
    }

    /// Every tenant migration of Vigil's domains.
    static func migrations() throws -> [Migration] {
        try DatabaseBootstrap.tenantMigrations(VigilDomains.all)
    }

    /// A fresh environment whose tenants have every domain's tables.
    static func environment(tenants: [String: [String]] = defaultTenants) async throws -> DatabaseServer {
        try await TestPostgres.shared.environment(migrations: try migrations(), tenants: tenants)
    }

    func application(tenants: [String: [String]] = Self.defaultTenants) async throws -> some ApplicationProtocol {
        try await application(server: try await Self.environment(tenants: tenants))
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
            dependencies: AppDependencies(logger: logger, metrics: metrics, masterKey: .generate(), domains: domains, clock: clock)
        )
    }
}

/// The tests' own domain, to drive the platform's middleware through handlers of their own: a
/// strict JSON endpoint, one that fails unexpectedly, one that echoes the client address; and, in
/// the tenant's `/api`, writes through the response path (one of them slow), a money-like route
/// that requires an `Idempotency-Key`, one write that bypasses the unit of work (which the
/// audited-routes walk must catch) and one that commits through `write` under a claim (which the
/// unit of work must refuse).
enum TestRoutes {
    static let echo = RouteDeclaration(.post, "/test/echo", access: .anonymous, mutates: false, operationID: "testEcho", realm: .platform)
    static let failure = RouteDeclaration(.get, "/test/failure", access: .anonymous, operationID: "testFailure", realm: .platform)
    static let client = RouteDeclaration(.get, "/test/client", access: .anonymous, operationID: "testClient", realm: .platform)
    static let notes = RouteDeclaration(.post, "/api/test/notes", access: .anonymous, idempotency: .accepts, operationID: "testCreateNote")
    static let slowNotes = RouteDeclaration(.post, "/api/test/slow-notes", access: .anonymous, idempotency: .accepts, operationID: "testCreateSlowNote")
    static let payments = RouteDeclaration(.post, "/api/test/payments", access: .anonymous, idempotency: .requires, operationID: "testCreatePayment")
    static let unaudited = RouteDeclaration(.post, "/api/test/unaudited", access: .anonymous, idempotency: .accepts, operationID: "testUnaudited")
    static let misusedWrite = RouteDeclaration(
        .post, "/api/test/misused-write", access: .anonymous, idempotency: .accepts, operationID: "testMisusedWrite"
    )
    static let staffOnly = RouteDeclaration(.get, "/api/test/staff-only", access: .permission("view_customers"), operationID: "testStaffOnly")

    static let declarations = [echo, failure, client, notes, slowNotes, payments, unaudited, misusedWrite, staffOnly]

    static let domain = Domain(name: "test", routes: declarations, start: { _ in DomainRuntime(controllers: [Controller()]) })

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

    struct Controller: RouteController {
        func addRoutes(to routes: RouteRegistrar) {
            routes.add(notes) { request, context in try await createNote(request, context, pause: nil) }
            routes.add(slowNotes) { request, context in try await createNote(request, context, pause: 2) }
            routes.add(payments) { request, context in try await createNote(request, context, pause: nil) }
            routes.add(unaudited) { _, context -> HTTPResponse.Status in
                // Commits a change on the application role without the unit of work: what the walk must catch.
                try await context.requireTenant().client.query(
                    """
                    INSERT INTO idempotency_records (principal, route, key, request_hash, response_status, response_body, key_version, expires_at)
                    VALUES ('', 'unaudited', \(UUID().uuidString), '\\x00'::bytea, 200, ''::bytea, 1, now())
                    """,
                    logger: context.logger
                )
                return .created
            }
            routes.add(misusedWrite) { request, context -> HTTPResponse.Status in
                let input = try await request.decodeStrictJSON(as: NoteInput.self, context: context)
                // A write outside the response path, under the request's claim: the unit of work refuses it.
                try await context.requireTenant().write(context.writeContext(sourceService: "test"), logger: context.logger) { unit in
                    try await recordNote(input.text, in: &unit)
                }
                return .created
            }
            routes.add(staffOnly) { _, _ in "staff" }
            routes.add(echo) { request, context -> Echo in
                try await request.decodeStrictJSON(as: Echo.self, context: context)
            }
            routes.add(failure) { _, _ -> String in
                throw UnexpectedFailure(description: "SELECT secret FROM customers WHERE email = 'canary.fail@example.org'")
            }
            routes.add(client) { _, context -> Client in
                Client(address: context.clientAddress?.description)
            }
        }
    }

    @discardableResult
    static func recordNote(_ text: String, in unit: inout UnitOfWork) async throws -> String {
        let id = UUID().uuidString.lowercased()
        try await unit.record(AuditRecord(action: "note.created", entityType: "note", entityID: id, details: ["text": .string(text)]))
        try await unit.emit(OutboxEvent(aggregateType: "note", aggregateID: id, type: "note.created", payload: ["note_id": .identifier(id)]))
        return id
    }

    static func createNote(_ request: Request, _ context: VigilRequestContext, pause: Double?) async throws -> WrittenResponse {
        let input = try await request.decodeStrictJSON(as: NoteInput.self, context: context)
        return try await context.respond(status: .created, sourceService: "test") { unit in
            guard !input.text.isEmpty else {
                throw Problem(status: .unprocessableContent, slug: "empty-note", title: "A note needs text")
            }
            if let pause { for try await _ in try await unit.connection.query("SELECT pg_sleep(\(pause))", logger: unit.logger) {} }
            return Note(id: try await recordNote(input.text, in: &unit), text: input.text)
        }
    }
}
