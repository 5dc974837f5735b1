import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing
import VigilApp
import VigilStorage
import VigilTesting

/// Architecture decision 6: a mutating route that commits a change must leave an audit entry.
/// The walk calls every registered POST/PUT/PATCH/DELETE route with its probe request and flags
/// any that changed a table of the tenant while adding no entry.
@Suite struct AuditedRoutesTests {
    /// A request that makes each mutating route commit its change. A new mutating route needs one here.
    /// Keyed "METHOD /registered/path"; the method sent is the key's.
    static let probes: [String: (path: String, body: String)] = [
        "POST /test/echo": ("/test/echo", #"{"email":"probe@example.org"}"#),
        "POST /api/test/notes": ("/api/test/notes", #"{"text":"probe"}"#),
        "POST /api/test/slow-notes": ("/api/test/slow-notes", #"{"text":"probe"}"#),
        "POST /api/test/unaudited": ("/api/test/unaudited", "{}"),
    ]

    /// Tables whose change is the audit trail itself (or key material it creates on first use).
    static let trailTables: Set<String> = ["audit_entries", "audit_chain", "outbox_positions", "keyring_tenant_keys", "vigil_migrations"]

    /// A digest of every other table's rows, so any committed change shows.
    static func fingerprint(_ client: PostgresClient) async throws -> [String: String] {
        let tables = try await client.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'outbox_events%'", logger: TestPostgres.logger
        ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
        var digests: [String: String] = [:]
        for table in tables where !trailTables.contains(table) {
            digests[table] = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM \(table) t"), logger: TestPostgres.logger
            ).decode(String.self).reduce("") { $1 }
        }
        return digests
    }

    @Test func everyMutatingRouteThatCommitsLeavesAnAuditEntryAndTheWalkCatchesOneThatDoesNot() async throws {
        let server = try await TestPostgres.shared.environment(tenants: AppHarness.defaultTenants)
        let directory = TenantDirectory(server: server, poolSize: 1, keyring: Keyring(masterKey: .generate()), logger: TestPostgres.logger)
        let router = try buildRouter(AppConfiguration(), directory: directory, dependencies: AppDependencies(logger: TestPostgres.logger, masterKey: .generate(), additionalRoutes: TestRoutes.register))
        let mutating = Set(router.routes.filter { [.post, .put, .patch, .delete].contains($0.method) }.map { "\($0.method.rawValue) \($0.path.description)" })
        #expect(mutating.subtracting(Self.probes.keys).isEmpty, "mutating routes without a probe")

        let app = try await AppHarness().application(server: server)
        let unaudited = try await AppHarness.withTenantDatabase(server) { database in
            try await app.test(.router) { client in
                var unaudited: [String] = []
                for route in mutating.sorted() {
                    let probe = try #require(Self.probes[route])
                    let before = try await Self.fingerprint(database)
                    let entriesBefore = try await database.query("SELECT count(*) FROM audit_entries", logger: TestPostgres.logger).decode(Int64.self).reduce(0, +)
                    let method = try #require(HTTPRequest.Method(String(route.prefix { $0 != " " })))
                    let response = try await client.execute(
                        uri: probe.path, method: method, headers: [.contentType: "application/json"], body: ByteBuffer(string: probe.body)
                    )
                    #expect(response.status.code < 300, "\(route) answered \(response.status)")
                    let after = try await Self.fingerprint(database)
                    let entriesAfter = try await database.query("SELECT count(*) FROM audit_entries", logger: TestPostgres.logger).decode(Int64.self).reduce(0, +)
                    if before != after, entriesAfter == entriesBefore { unaudited.append(route) }
                }
                return unaudited
            }
        }
        #expect(unaudited == ["POST /api/test/unaudited"])
    }
}
