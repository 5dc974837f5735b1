import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PostgresNIO
import Testing
import VigilCore
import VigilApp
import VigilStorage
import VigilTesting

/// Identity over HTTP against a real PostgreSQL (spec 02): lockout under parallel guesses, second
/// factors, refresh rotation and reuse, sessions and step-up. (Another tenant's host refusing a
/// token is a system test: the router test client always sends `localhost`.)
@Suite struct IdentityTests {
    func withIdentity(clock: TestClock = TestClock(), _ body: @Sendable (IdentityFlows) async throws -> Void) async throws {
        let server = try await AppHarness.environment()
        var harness = AppHarness()
        harness.clock = clock.wallClock
        let app = try await harness.application(server: server)
        try await AppHarness.withTenantDatabase(server) { database in
            try await app.test(.router) { client in try await body(IdentityFlows(client: client, database: database)) }
        }
    }

    func problemType(_ response: TestResponse) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])?["type"] as? String
    }

    /// Parallel wrong codes on one `mfa_token`: each is checked under the token's row lock and
    /// counted before the lock is released, so the token allows exactly five code checks.
    @Test func parallelWrongCodesOnOneMFATokenAreCheckedExactlyFiveTimes() async throws {
        try await withIdentity { flows in
            let (person, _, _, _) = try await flows.staffWithTOTP()
            let token = try await flows.mfaToken(.staff, person)
            let before = try await flows.database.query(
                "SELECT count(*) FROM audit_entries WHERE action = 'auth.second_factor_failed'", logger: TestPostgres.logger
            ).decode(Int64.self).reduce(0, +)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await flows.post("/api/admin/auth/login/2fa", IdentityFlows.body(["mfa_token": token, "code": "zzzz-zzzz"])).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(!statuses.contains(.ok))
            let checked = try await flows.database.query(
                "SELECT count(*) FROM audit_entries WHERE action = 'auth.second_factor_failed'", logger: TestPostgres.logger
            ).decode(Int64.self).reduce(0, +)
            #expect(checked - before == 5)
            let failures = try await flows.database.query(
                "SELECT failures FROM auth_challenges WHERE token_hash = \(OpaqueToken.hash(token))", logger: TestPostgres.logger
            ).decode(Int.self).reduce(0, +)
            #expect(failures == 5)
        }
    }

    @Test(arguments: [true, false])
    func parallelWrongPasswordsGiveExactlyFive401sThenLockoutsForKnownAndUnknownEmails(known: Bool) async throws {
        try await withIdentity { flows in
            let person = known ? try await flows.seed(.customer) : IdentityFlows.Person(id: UUID(), email: "nobody-\(UUID())@example.test", password: "")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await flows.login(.customer, person, password: "wrong password guess").status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 5)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 45)
            // Locked: even the right password is refused, with a Retry-After.
            let locked = try await flows.login(.customer, person, password: known ? IdentityFlows.password : "anything at all")
            #expect(locked.status == .tooManyRequests)
            #expect(problemType(locked) == "/problems/account-locked")
            let retryAfter = try #require(locked.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
            let failures = try await flows.database.query(
                "SELECT count(*) FROM audit_entries WHERE action = 'auth.login_failed'", logger: TestPostgres.logger
            ).decode(Int.self).reduce(0, +)
            #expect(failures == 5)
            let lockouts = try await flows.database.query(
                "SELECT count(*) FROM audit_entries WHERE action = 'auth.account_locked'", logger: TestPostgres.logger
            ).decode(Int.self).reduce(0, +)
            #expect(lockouts == 1)
            // Unknown identifiers are recorded as keyed digests, never in clear.
            let clear = try await flows.database.query(
                "SELECT count(*) FROM audit_entries WHERE details::text LIKE \("%" + person.email + "%")", logger: TestPostgres.logger
            ).decode(Int.self).reduce(0, +)
            #expect(clear == 0)
        }
    }

    @Test func theLockEndsAndTheNextLockLastsTwiceAsLongAndSuccessResetsTheBackOff() async throws {
        let clock = TestClock()
        // Retry-After counts from the answer's time, and the test clock runs with real time: on a
        // loaded machine a second or two passes between the lock and the answer.
        @Sendable func retryAfter(_ response: TestResponse) -> Int? { response.headers[.retryAfter].flatMap { Int($0) } }
        try await withIdentity(clock: clock) { flows in
            let person = try await flows.seed(.customer)
            for _ in 0..<5 { _ = try await flows.login(.customer, person, password: "wrong password guess") }
            #expect(retryAfter(try await flows.login(.customer, person)).map { (55...60).contains($0) } == true)
            clock.advance(61)
            for _ in 0..<4 { #expect(try await flows.login(.customer, person, password: "wrong password guess").status == .unauthorized) }
            #expect(try await flows.login(.customer, person, password: "wrong password guess").status == .unauthorized)
            #expect(retryAfter(try await flows.login(.customer, person)).map { (115...120).contains($0) } == true)
            clock.advance(121)
            #expect(try await flows.login(.customer, person).status == .ok)
            for _ in 0..<5 { _ = try await flows.login(.customer, person, password: "wrong password guess") }
            #expect(retryAfter(try await flows.login(.customer, person)).map { (55...60).contains($0) } == true)
        }
    }

    @Test func anMFATokenAllowsFiveWrongCodesAndTheyCountTowardTheLockout() async throws {
        try await withIdentity { flows in
            let (person, secret, _, _) = try await flows.customerWithTOTP()
            let token = try await flows.mfaToken(.customer, person)
            for attempt in 1...5 {
                let response = try await flows.post("/api/customer/login/2fa", IdentityFlows.body(["mfa_token": token, "code": "000000"]))
                #expect(response.status == .unauthorized, "attempt \(attempt)")
            }
            let afterVoid = try await flows.post("/api/customer/login/2fa", IdentityFlows.body(["mfa_token": token, "code": IdentityFlows.freshCode(secret)]))
            #expect(problemType(afterVoid) == "/problems/invalid-mfa-token")
            // The five wrong codes locked the login itself.
            #expect(try await flows.login(.customer, person).status == .tooManyRequests)
        }
    }

    @Test func aReplayedTOTPCodeAndAUsedBackupCodeAreRefused() async throws {
        try await withIdentity { flows in
            let (person, secret, codes, _) = try await flows.staffWithTOTP()
            let code = IdentityFlows.freshCode(secret)
            let first = try await flows.post("/api/admin/auth/login/2fa", IdentityFlows.body(["mfa_token": try await flows.mfaToken(.staff, person), "code": code]))
            #expect(first.status == .ok)
            let replay = try await flows.post("/api/admin/auth/login/2fa", IdentityFlows.body(["mfa_token": try await flows.mfaToken(.staff, person), "code": code]))
            #expect(replay.status == .unauthorized)
            #expect(problemType(replay) == "/problems/invalid-code")
            let backup = try await flows.post("/api/admin/auth/login/2fa", IdentityFlows.body(["mfa_token": try await flows.mfaToken(.staff, person), "code": codes[3].uppercased()]))
            #expect(backup.status == .ok)
            let again = try await flows.post("/api/admin/auth/login/2fa", IdentityFlows.body(["mfa_token": try await flows.mfaToken(.staff, person), "code": codes[3]]))
            #expect(again.status == .unauthorized)
            let reasons = try await flows.database.query(
                "SELECT reason_code FROM audit_entries WHERE action = 'auth.second_factor_failed' ORDER BY id", logger: TestPostgres.logger
            ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            #expect(reasons == ["replayed_code", "used_backup_code"])
        }
    }

    @Test func reusingARotatedRefreshTokenRevokesTheWholeFamily() async throws {
        try await withIdentity { flows in
            let tokens = try await flows.customerTokens(try await flows.seed(.customer))
            let rotated = try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": tokens.refreshToken]))
            #expect(rotated.status == .ok)
            let newest = try JSONDecoder().decode(IdentityFlows.Tokens.self, from: Data(buffer: rotated.body))
            #expect(newest.sessionID == tokens.sessionID)
            #expect(try await flows.get("/api/customer/sessions", bearer: newest.accessToken).status == .ok)

            let reuse = try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": tokens.refreshToken]))
            #expect(problemType(reuse) == "/problems/refresh-token-reused")
            let newestAfter = try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": newest.refreshToken]))
            #expect(newestAfter.status == .unauthorized)
            let access = try await flows.get("/api/customer/sessions", bearer: newest.accessToken)
            #expect(problemType(access) == "/problems/invalid-token")
            let alerts = try await flows.database.query(
                "SELECT count(*) FROM outbox_events WHERE type = 'auth.refresh_token_reused'", logger: TestPostgres.logger
            ).decode(Int.self).reduce(0, +)
            #expect(alerts == 1)
        }
    }

    @Test func twoConcurrentRefreshesWithOneTokenLeaveOneSuccessAndARevokedFamily() async throws {
        try await withIdentity { flows in
            let tokens = try await flows.customerTokens(try await flows.seed(.customer))
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": tokens.refreshToken])).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.sorted { $0.code < $1.code } == [.ok, .unauthorized])
            let revoked = try await flows.database.query(
                "SELECT revoked_reason FROM auth_sessions WHERE id = \(UUID(uuidString: tokens.sessionID)!)", logger: TestPostgres.logger
            ).decode(String?.self).reduce(into: [String?]()) { $0.append($1) }
            #expect(revoked == ["refresh_token_reused"])
        }
    }

    @Test func aFourthLoginEvictsTheOldestSessionAndSaysSo() async throws {
        try await withIdentity { flows in
            let person = try await flows.seed(.customer)
            var sessions: [IdentityFlows.Tokens] = []
            for _ in 0..<4 { sessions.append(try await flows.customerTokens(person)) }
            #expect(sessions[0..<3].allSatisfy { $0.evictedSessionID == nil })
            #expect(sessions[3].evictedSessionID == sessions[0].sessionID)
            #expect(problemType(try await flows.get("/api/customer/sessions", bearer: sessions[0].accessToken)) == "/problems/invalid-token")

            let listed = try flows.json(try await flows.get("/api/customer/sessions", bearer: sessions[3].accessToken))["sessions"] as? [[String: Any]]
            #expect(Set(listed?.compactMap { $0["id"] as? String } ?? []) == Set(sessions[1...].map(\.sessionID)))
            #expect(listed?.filter { $0["current"] as? Bool == true }.compactMap { $0["id"] as? String } == [sessions[3].sessionID])

            let revokeOne = try await flows.client.execute(
                uri: "/api/customer/sessions/\(sessions[1].sessionID)", method: .delete, headers: [.authorization: "Bearer \(sessions[3].accessToken)"], body: nil
            )
            #expect(revokeOne.status == .noContent)
            let others = try await flows.post("/api/customer/sessions/revoke-others", "", bearer: sessions[3].accessToken)
            #expect(try flows.json(others)["revoked"] as? Int == 1)
            #expect(try await flows.get("/api/customer/sessions", bearer: sessions[2].accessToken).status == .unauthorized)
            #expect(try await flows.post("/api/customer/logout", "", bearer: sessions[3].accessToken).status == .noContent)
            #expect(try await flows.get("/api/customer/sessions", bearer: sessions[3].accessToken).status == .unauthorized)
        }
    }

    func count(_ flows: IdentityFlows, _ sql: String) async throws -> Int64 {
        try await flows.database.query(PostgresQuery(unsafeSQL: sql), logger: TestPostgres.logger).decode(Int64.self).reduce(0, +)
    }

    /// Decision 0014: while the login is locked, only the first refusal writes an entry and an
    /// event; the others are counted, and the first attempt after the lock records the count.
    @Test func refusalsOfALockedLoginAreCountedAndTheNextAttemptAfterTheLockRecordsTheCount() async throws {
        let clock = TestClock()
        try await withIdentity(clock: clock) { flows in
            let person = try await flows.seed(.customer)
            for _ in 0..<5 { _ = try await flows.login(.customer, person, password: "wrong password guess") }
            let entries = try await count(flows, "SELECT count(*) FROM audit_entries")
            let events = try await count(flows, "SELECT count(*) FROM outbox_events")
            for attempt in 0..<30 {
                let refused = try await flows.login(.customer, person, password: attempt.isMultiple(of: 2) ? IdentityFlows.password : "wrong password guess")
                #expect(problemType(refused) == "/problems/account-locked")
            }
            #expect(try await count(flows, "SELECT count(*) FROM audit_entries") == entries + 1)
            #expect(try await count(flows, "SELECT count(*) FROM outbox_events") == events + 1)
            #expect(try await count(flows, "SELECT count(*) FROM audit_entries WHERE action = 'auth.login_refused'") == 1)

            clock.advance(61)
            #expect(try await flows.login(.customer, person).status == .ok)
            #expect(
                try await count(
                    flows,
                    """
                    SELECT count(*) FROM audit_entries WHERE action = 'auth.refusals_counted' AND entity_type = 'customer'
                        AND entity_id = '\(person.id.uuidString.lowercased())' AND customer_id = '\(person.id)' AND reason_code = 'account_locked'
                        AND details->>'refused_count' = '30' AND actor_type = 'system'
                    """
                ) == 1
            )
            #expect(
                try await count(
                    flows,
                    """
                    SELECT count(*) FROM outbox_events WHERE type = 'auth.refusals_counted'
                        AND payload->>'principal_id' = '\(person.id.uuidString.lowercased())' AND payload->>'refused_count' = '30'
                    """
                ) == 1
            )
        }
    }

    @Test func aRefreshTokenOfARevokedFamilyIsRefusedWithoutWritingAgain() async throws {
        try await withIdentity { flows in
            let tokens = try await flows.customerTokens(try await flows.seed(.customer))
            #expect(try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": tokens.refreshToken])).status == .ok)
            let reuse = try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": tokens.refreshToken]))
            #expect(problemType(reuse) == "/problems/refresh-token-reused")
            let entries = try await count(flows, "SELECT count(*) FROM audit_entries")
            for _ in 0..<10 {
                let again = try await flows.post("/api/customer/refresh", IdentityFlows.body(["refresh_token": tokens.refreshToken]))
                #expect(problemType(again) == "/problems/invalid-refresh-token")
            }
            #expect(try await count(flows, "SELECT count(*) FROM audit_entries") == entries)
            #expect(try await count(flows, "SELECT count(*) FROM outbox_events WHERE type = 'auth.refresh_token_reused'") == 1)
        }
    }

    /// Spec 02: a customer switches off TOTP with a code checked there and then; the second
    /// factor of a recent login or step-up is not enough.
    @Test func aCustomerDisablesTwoFactorOnlyWithAFreshCode() async throws {
        try await withIdentity { flows in
            let (person, secret, _, tokens) = try await flows.customerWithTOTP()
            // The session verified a second factor a moment ago, yet a code is still asked for.
            #expect(try await flows.post("/api/customer/2fa/disable", "{}", bearer: tokens.accessToken).status == .badRequest)
            let wrong = try await flows.post("/api/customer/2fa/disable", IdentityFlows.body(["code": "zzzzzzzz"]), bearer: tokens.accessToken)
            #expect(problemType(wrong) == "/problems/invalid-code")
            #expect(try await count(flows, "SELECT count(*) FROM audit_entries WHERE action = 'auth.2fa_disable_failed' AND reason_code = 'wrong_code'") == 1)
            let disabled = try await flows.post("/api/customer/2fa/disable", IdentityFlows.body(["code": IdentityFlows.freshCode(secret)]), bearer: tokens.accessToken)
            #expect(disabled.status == .ok)
            #expect(try flows.json(disabled) as? [String: Bool] == ["enabled": false])
            // The password alone logs in again.
            #expect(try flows.json(try await flows.login(.customer, person))["access_token"] != nil)
            #expect(try await count(flows, "SELECT count(*) FROM backup_codes WHERE principal_id = '\(person.id)'") == 0)
        }
    }

    /// A customer who lost the authenticator switches TOTP off with a backup code.
    @Test func aBackupCodeIsAFreshCodeForDisablingTwoFactor() async throws {
        try await withIdentity { flows in
            let (_, _, codes, tokens) = try await flows.customerWithTOTP()
            let disabled = try await flows.post("/api/customer/2fa/disable", IdentityFlows.body(["code": codes[4]]), bearer: tokens.accessToken)
            #expect(disabled.status == .ok)
            #expect(try await count(flows, "SELECT count(*) FROM audit_entries WHERE action = 'auth.2fa_disabled' AND reason_code = 'backup_code'") == 1)
        }
    }

    /// Spec 02 and seed 002: staff keep their second factor, whatever they send.
    @Test func staffCannotSwitchOffTheirOwnSecondFactorEvenWithAFreshCode() async throws {
        try await withIdentity { flows in
            let (person, secret, _, tokens) = try await flows.staffWithTOTP()
            for body in [IdentityFlows.body(["code": IdentityFlows.freshCode(secret)]), "", "{}"] {
                let refused = try await flows.post("/api/admin/auth/2fa/disable", body, bearer: tokens.accessToken)
                #expect(refused.status == .forbidden)
                #expect(problemType(refused) == "/problems/second-factor-required")
            }
            #expect(try await flows.get("/api/admin/auth/me", bearer: tokens.accessToken).status == .ok)
            #expect(try flows.json(try await flows.login(.staff, person))["mfa_required"] as? Bool == true)
            #expect(try await count(flows, "SELECT count(*) FROM audit_entries WHERE action = 'auth.2fa_disabled'") == 0)
        }
    }

    @Test func stepUpWithoutASecondFactorIsAConflictAndCountsNoFailure() async throws {
        try await withIdentity { flows in
            let person = try await flows.seed(.customer)
            let tokens = try await flows.customerTokens(person)
            for _ in 0..<6 {
                let response = try await flows.post("/api/customer/step-up", IdentityFlows.body(["code": "123456"]), bearer: tokens.accessToken)
                #expect(response.status == .conflict)
            }
            #expect(try await flows.login(.customer, person).status == .ok)
        }
    }

    @Test func accessTokensExpireAndAreRefusedOnTheOtherPopulationsRoutes() async throws {
        let clock = TestClock()
        try await withIdentity(clock: clock) { flows in
            let tokens = try await flows.customerTokens(try await flows.seed(.customer))
            #expect(problemType(try await flows.get("/api/admin/auth/me", bearer: tokens.accessToken)) == "/problems/wrong-scope")
            #expect(problemType(try await flows.get("/api/customer/sessions", bearer: nil)) == "/problems/authentication-required")
            clock.advance(901)
            #expect(problemType(try await flows.get("/api/customer/sessions", bearer: tokens.accessToken)) == "/problems/invalid-token")
        }
    }

    @Test func aStaffUsersFirstLoginEnrolsTOTPAndOnlyThenGetsTokens() async throws {
        try await withIdentity { flows in
            let person = try await flows.seed(.staff)
            let login = try flows.json(try await flows.login(.staff, person))
            #expect(login["mfa_enrollment_required"] as? Bool == true)
            #expect(login["access_token"] == nil)
            let enrolment = try #require(login["enrollment_token"] as? String)
            // The enrolment token is no access token.
            #expect(try await flows.get("/api/admin/auth/me", bearer: enrolment).status == .unauthorized)
            let (_, codes, verify) = try await flows.enrol(.staff, bearer: enrolment)
            let body = try flows.json(verify)
            #expect(body["enabled"] as? Bool == true)
            #expect(body["message"] as? String == "2FA enabled. Save backup codes.")
            #expect(codes.count == 10 && Set(codes).count == 10)
            #expect(codes.allSatisfy { $0.count == 8 && $0.allSatisfy { $0.isLowercase || $0.isNumber } })
            let access = try #require(body["access_token"] as? String)
            let me = try flows.json(try await flows.get("/api/admin/auth/me", bearer: access))
            #expect(me["email"] as? String == person.email)
            #expect(me["amr"] as? [String] == ["pwd", "otp"])
            // Used once, the enrolment token is spent.
            #expect(try await flows.post("/api/admin/auth/2fa/setup", "", bearer: enrolment).status == .unauthorized)
        }
    }

    @Test func authenticationRoutesRefuseAnIdempotencyKey() async throws {
        try await withIdentity { flows in
            let response = try await flows.client.execute(
                uri: "/api/customer/login", method: .post,
                headers: [.contentType: "application/json", HTTPField.Name("Idempotency-Key")!: "k1"],
                body: ByteBuffer(string: IdentityFlows.body(["email": "a@b.test", "password": "whatever it is"]))
            )
            #expect(problemType(response) == "/problems/idempotency-key-refused")
        }
    }
}
