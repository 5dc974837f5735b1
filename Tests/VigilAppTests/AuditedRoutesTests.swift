import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ExtrasBase64
import Identity
import PostgresNIO
import Testing
import VigilApp
import VigilHTTP
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
            "POST /api/test/notes": fixed("/api/test/notes", #"{"text":"probe"}"#),
            "POST /api/test/slow-notes": fixed("/api/test/slow-notes", #"{"text":"probe"}"#),
            "POST /api/test/payments": fixed("/api/test/payments", #"{"text":"probe"}"#),
            "POST /api/test/unaudited": fixed("/api/test/unaudited", "{}"),
            "POST /api/test/misused-write": fixed("/api/test/misused-write", #"{"text":"probe"}"#),
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
            // Staff may not switch their own second factor off (the route changes nothing); a customer gives a fresh code.
            if population == .customer {
                probes["POST \(prefix)/2fa/disable"] = { flows in
                    let (_, secret, _, tokens) = try await enrolled(flows)
                    return ProbeRequest(
                        path: "\(prefix)/2fa/disable", body: IdentityFlows.body(["code": IdentityFlows.freshCode(secret)]), bearer: tokens.accessToken
                    )
                }
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

    /// The declared mutating routes of the application with the tests' domain.
    static func mutatingRoutes() throws -> [RouteDeclaration] {
        try routeTable(AppHarness().domains).declarations.filter(\.mutates).sorted { $0.description < $1.description }
    }

    static func send(
        _ route: RouteDeclaration, _ probe: ProbeRequest, key: String?, to client: some TestClientProtocol
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer = probe.bearer { headers[.authorization] = "Bearer \(bearer)" }
        if let key { headers[.idempotencyKey] = key }
        return try await client.execute(uri: probe.path, method: route.method, headers: headers, body: ByteBuffer(string: probe.body))
    }

    static func entryCount(_ database: PostgresClient) async throws -> Int64 {
        try await database.query("SELECT count(*) FROM audit_entries", logger: TestPostgres.logger).decode(Int64.self).reduce(0, +)
    }

    @Test func everyMutatingRouteThatCommitsLeavesAnAuditEntryAndTheWalkCatchesOneThatDoesNot() async throws {
        let mutating = try Self.mutatingRoutes()
        #expect(Set(mutating.map(\.description)).subtracting(Self.probes.keys).isEmpty, "mutating routes without a probe")
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        let unaudited = try await AppHarness.withTenantDatabase(server) { database in
            try await app.test(.router) { client in
                var unaudited: [String] = []
                let flows = IdentityFlows(client: client, database: database)
                for route in mutating {
                    let prepare = try #require(Self.probes[route.description])
                    let probe = try await prepare(flows)
                    let before = try await Self.fingerprint(database)
                    let entriesBefore = try await Self.entryCount(database)
                    let key = route.idempotency == .requires ? UUID().uuidString : nil
                    let response = try await Self.send(route, probe, key: key, to: client)
                    #expect(response.status.code < 300, "\(route) answered \(response.status): \(String(buffer: response.body))")
                    let after = try await Self.fingerprint(database)
                    if before != after, try await Self.entryCount(database) == entriesBefore { unaudited.append(route.description) }
                }
                return unaudited
            }
        }
        #expect(unaudited == ["POST /api/test/unaudited"])
    }

    /// Decisions 6 and 20: with an `Idempotency-Key`, every mutating route either replays its
    /// first response to an identical retry (`Idempotent-Replayed: true`, no table changed) or
    /// refuses the header with 400. The walk catches a route that runs a retry twice.
    @Test func everyMutatingRouteReplaysAKeyedRetryOrRefusesTheKey() async throws {
        let mutating = try Self.mutatingRoutes()
        let server = try await AppHarness.environment()
        let app = try await AppHarness().application(server: server)
        let misbehaving = try await AppHarness.withTenantDatabase(server) { database in
            try await app.test(.router) { client in
                var misbehaving: [String] = []
                let flows = IdentityFlows(client: client, database: database)
                for route in mutating {
                    let prepare = try #require(Self.probes[route.description])
                    let probe = try await prepare(flows)
                    let key = UUID().uuidString
                    let first = try await Self.send(route, probe, key: key, to: client)
                    if route.idempotency == .refuses {
                        let refused = first.status == .badRequest && String(buffer: first.body).contains("/problems/idempotency-key-refused")
                        if !refused { misbehaving.append(route.description) }
                        continue
                    }
                    guard first.status.code < 300 else {
                        misbehaving.append(route.description)
                        continue
                    }
                    let before = try await Self.fingerprint(database)
                    let entries = try await Self.entryCount(database)
                    let retry = try await Self.send(route, probe, key: key, to: client)
                    let replayed = retry.headers[.idempotentReplayed] == "true" && retry.status == first.status && retry.body == first.body
                    let fingerprintAfter = try await Self.fingerprint(database)
                    let entriesAfter = try await Self.entryCount(database)
                    let unchanged = fingerprintAfter == before && entriesAfter == entries
                    if !(replayed && unchanged) { misbehaving.append(route.description) }
                }
                return misbehaving
            }
        }
        // The route that bypasses the unit of work runs twice; the one that writes outside the
        // response path under its claim is refused (500) before anything is committed.
        #expect(misbehaving == ["POST /api/test/misused-write", "POST /api/test/unaudited"])
    }
}
