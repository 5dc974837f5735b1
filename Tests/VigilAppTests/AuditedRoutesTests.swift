import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ExtrasBase64
import Identity
import PostgresNIO
import Testing
import VigilApp
import VigilStorage
import VigilTesting

/// Architecture decision 6: a mutating route that commits a change must leave an audit entry.
/// The walk calls every registered POST/PUT/PATCH/DELETE route with its probe request and flags
/// any that changed a table of the tenant while adding no entry.
@Suite struct AuditedRoutesTests {
    /// What a probe sends: the route's request, prepared (logins, enrolments) before the tables are fingerprinted.
    struct ProbeRequest {
        var path: String
        var body: String
        var bearer: String?
    }

    typealias Probe = @Sendable (IdentityFlows) async throws -> ProbeRequest

    static func fixed(_ path: String, _ body: String) -> Probe {
        { _ in ProbeRequest(path: path, body: body) }
    }

    /// A request that makes each mutating route commit its change. A new mutating route needs one here.
    /// Keyed "METHOD /registered/path"; the method sent is the key's.
    static let probes: [String: Probe] = {
        var probes: [String: Probe] = [
            "POST /test/echo": fixed("/test/echo", #"{"email":"probe@example.org"}"#),
            "POST /api/test/notes": fixed("/api/test/notes", #"{"text":"probe"}"#),
            "POST /api/test/slow-notes": fixed("/api/test/slow-notes", #"{"text":"probe"}"#),
            "POST /api/test/unaudited": fixed("/api/test/unaudited", "{}"),
        ]
        for population in Population.allCases {
            let prefix = IdentityFlows.prefix(population)
            let enrolled: @Sendable (IdentityFlows) async throws -> (person: IdentityFlows.Person, secret: TOTPSecret, backupCodes: [String], tokens: IdentityFlows.Tokens) = {
                population == .staff ? try await $0.staffWithTOTP() : try await $0.customerWithTOTP()
            }
            probes["POST \(prefix)/login"] = { flows in
                let person = try await flows.seed(population)
                return ProbeRequest(path: "\(prefix)/login", body: IdentityFlows.body(["email": person.email, "password": person.password]))
            }
            probes["POST \(prefix)/login/2fa"] = { flows in
                let (person, _, codes, _) = try await enrolled(flows)
                let token = try await flows.mfaToken(population, person)
                return ProbeRequest(path: "\(prefix)/login/2fa", body: IdentityFlows.body(["mfa_token": token, "code": codes[0]]))
            }
            probes["POST \(prefix)/refresh"] = { flows in
                let tokens = try await enrolled(flows).tokens
                return ProbeRequest(path: "\(prefix)/refresh", body: IdentityFlows.body(["refresh_token": tokens.refreshToken]))
            }
            probes["POST \(prefix)/logout"] = { flows in
                ProbeRequest(path: "\(prefix)/logout", body: "", bearer: try await enrolled(flows).tokens.accessToken)
            }
            probes["DELETE \(prefix)/sessions/{id}"] = { flows in
                let tokens = try await enrolled(flows).tokens
                return ProbeRequest(path: "\(prefix)/sessions/\(tokens.sessionID)", body: "", bearer: tokens.accessToken)
            }
            probes["POST \(prefix)/sessions/revoke-others"] = { flows in
                ProbeRequest(path: "\(prefix)/sessions/revoke-others", body: "", bearer: try await enrolled(flows).tokens.accessToken)
            }
            probes["POST \(prefix)/2fa/setup"] = { flows in
                if population == .staff {
                    let person = try await flows.seed(.staff)
                    let token = try #require(try flows.json(try await flows.login(.staff, person))["enrollment_token"] as? String)
                    return ProbeRequest(path: "\(prefix)/2fa/setup", body: "", bearer: token)
                }
                let tokens = try await flows.customerTokens(try await flows.seed(.customer))
                return ProbeRequest(path: "\(prefix)/2fa/setup", body: "", bearer: tokens.accessToken)
            }
            probes["POST \(prefix)/2fa/verify"] = { flows in
                let bearer: String
                if population == .staff {
                    let person = try await flows.seed(.staff)
                    bearer = try #require(try flows.json(try await flows.login(.staff, person))["enrollment_token"] as? String)
                } else {
                    bearer = try await flows.customerTokens(try await flows.seed(.customer)).accessToken
                }
                let setup = try await flows.post("\(prefix)/2fa/setup", "", bearer: bearer)
                let base32 = try #require(try flows.json(setup)["secret"] as? String)
                let secret = TOTPSecret(ascii: String(decoding: try base32.base32decoded(), as: UTF8.self))
                return ProbeRequest(path: "\(prefix)/2fa/verify", body: IdentityFlows.body(["code": IdentityFlows.freshCode(secret, offset: 0)]), bearer: bearer)
            }
            probes["POST \(prefix)/2fa/disable"] = { flows in
                ProbeRequest(path: "\(prefix)/2fa/disable", body: "", bearer: try await enrolled(flows).tokens.accessToken)
            }
            probes["POST \(prefix)/step-up"] = { flows in
                let (_, _, codes, tokens) = try await enrolled(flows)
                return ProbeRequest(path: "\(prefix)/step-up", body: IdentityFlows.body(["code": codes[1]]), bearer: tokens.accessToken)
            }
            probes["POST \(prefix)/password"] = { flows in
                let tokens = try await enrolled(flows).tokens
                return ProbeRequest(
                    path: "\(prefix)/password", body: IdentityFlows.body(["current_password": IdentityFlows.password, "new_password": "a new and long passphrase"]),
                    bearer: tokens.accessToken
                )
            }
            probes["POST \(prefix)/password/set"] = { flows in
                let person = try await flows.seed(population)
                let token = OpaqueToken.generate(prefix: OpaqueToken.passwordPrefix)
                try await flows.database.query(
                    """
                    INSERT INTO password_tokens (token_hash, purpose, population, principal_id, created_at, expires_at)
                    VALUES (\(OpaqueToken.hash(token)), 'reset', \(population.rawValue), \(person.id), now(), now() + interval '30 minutes')
                    """,
                    logger: TestPostgres.logger
                )
                return ProbeRequest(path: "\(prefix)/password/set", body: IdentityFlows.body(["token": token, "password": "a new and long passphrase"]))
            }
        }
        return probes
    }()

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
                let flows = IdentityFlows(client: client, database: database)
                for route in mutating.sorted() {
                    let prepare = try #require(Self.probes[route])
                    let probe = try await prepare(flows)
                    let before = try await Self.fingerprint(database)
                    let entriesBefore = try await database.query("SELECT count(*) FROM audit_entries", logger: TestPostgres.logger).decode(Int64.self).reduce(0, +)
                    let method = try #require(HTTPRequest.Method(String(route.prefix { $0 != " " })))
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let bearer = probe.bearer { headers[.authorization] = "Bearer \(bearer)" }
                    let response = try await client.execute(uri: probe.path, method: method, headers: headers, body: ByteBuffer(string: probe.body))
                    #expect(response.status.code < 300, "\(route) answered \(response.status): \(String(buffer: response.body))")
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
