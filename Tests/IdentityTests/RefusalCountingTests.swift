import Audit
import Foundation
import Logging
import PostgresNIO
import Testing
import VigilCore
import VigilHTTP
import VigilStorage
import VigilTesting

@testable import Identity

/// Decision 0014 against a real PostgreSQL: while a login is locked or an address blocked, the
/// first refused attempt is recorded in full and the rest only counted on the throttle row; the
/// count is recorded once, by the next attempt after the window or by housekeeping.
@Suite struct RefusalCountingTests {
    static func migrations() throws -> [Migration] {
        try MigrationPlan.ordered([StorageMigrations.tenant(), Domain.audit.tenantMigrations(), Domain.identity().tenantMigrations()])
    }

    static let blockedAddress = "203.0.113.7"

    /// Password logins of customers against the fixture's tenant, as the login route makes them.
    struct Attempts: Sendable {
        let identity: IdentityService
        let fixture: TenantFixture

        init(_ fixture: TenantFixture, clock: TestClock, addressFailureLimit: Int = LockoutPolicy().addressFailureLimit) {
            var settings = IdentitySettings()
            settings.bcryptCost = 4
            settings.lockout.addressFailureLimit = addressFailureLimit
            identity = IdentityService(settings: settings, clock: clock.wallClock)
            self.fixture = fixture
        }

        /// The problem a login with a wrong password answers (nil if it logged in).
        func login(_ email: String, from address: String) async throws -> Problem? {
            let call = AuthCall(
                tenant: fixture.tenant, writeContext: WriteContext(actor: AuditActor(kind: .anonymous, ip: address), sourceService: "identity"),
                ip: IPAddress(address), userAgent: "refusal-counting-tests", logger: fixture.logger
            )
            do {
                _ = try await identity.login(.customer, email: email, password: "a wrong password guess", call: call)
                return nil
            } catch let problem as Problem {
                return problem
            }
        }

        /// The problems of `count` attempts sent at once.
        func parallelLogins(_ count: Int, email: @escaping @Sendable (Int) -> String, from address: String) async throws -> [String?] {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for number in 0..<count { group.addTask { try await login(email(number), from: address)?.slug } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
        }
    }

    /// What an `auth.refusals_counted` entry says.
    struct CountEntry: Equatable {
        let entityType: String
        let entityID: String?
        let reasonCode: String
        let actor: String
        let refusedCount: Int64
        let identifierIsDigest: Bool
    }

    static func countEntries(_ fixture: TenantFixture) async throws -> [CountEntry] {
        try await fixture.superuser { client in
            try await client.query(
                """
                SELECT entity_type, entity_id, reason_code, actor_type || ':' || actor_id, (details->>'refused_count')::bigint,
                    coalesce(details->>'identifier' LIKE 'hmac:v1:%', false), details->>'first_refused_at' < details->>'last_refused_at'
                FROM audit_entries WHERE action = 'auth.refusals_counted' ORDER BY id
                """,
                logger: fixture.logger
            ).decode((String, String?, String, String, Int64, Bool, Bool).self).reduce(into: [CountEntry]()) { entries, row in
                #expect(row.6, "the first refusal comes before the last")
                entries.append(CountEntry(entityType: row.0, entityID: row.1, reasonCode: row.2, actor: row.3, refusedCount: row.4, identifierIsDigest: row.5))
            }
        }
    }

    @Test func refusalsFromABlockedAddressAreCountedOnItsRowAndRecordedOnceAtTheFirstAttemptAfterTheWindow() async throws {
        try await TenantFixture.with(migrations: try Self.migrations()) { fixture in
            let clock = TestClock()
            let attempts = Attempts(fixture, clock: clock, addressFailureLimit: 3)
            for number in 0..<3 {
                #expect(try await attempts.login("nobody-\(number)@example.test", from: Self.blockedAddress)?.slug == "invalid-credentials")
            }
            let refused = try await attempts.parallelLogins(40, email: { "guess-\($0)@example.test" }, from: Self.blockedAddress)
            #expect(refused == Array(repeating: "too-many-failed-logins", count: 40))
            // One entry and one event for the first refusal; the other 39 only counted.
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'auth.login_refused'") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events WHERE type = 'auth.login_refused'") == 1)
            #expect(try await fixture.count("SELECT sum(refusals) FROM ip_login_failures WHERE ip = '\(Self.blockedAddress)'") == 40)
            // Refused attempts leave no counter row for the identifiers they tried.
            #expect(try await fixture.count("SELECT count(*) FROM login_throttles") == 3)
            // The block is the address's: another address is only refused its wrong password.
            #expect(try await attempts.login("nobody-0@example.test", from: "198.51.100.1")?.slug == "invalid-credentials")
            #expect(try await Self.countEntries(fixture).isEmpty)

            clock.advance(LockoutPolicy().addressWindow + 1)
            #expect(try await attempts.login("late@example.test", from: Self.blockedAddress)?.slug == "invalid-credentials")
            #expect(
                try await Self.countEntries(fixture) == [
                    CountEntry(
                        entityType: "client_address", entityID: Self.blockedAddress, reasonCode: "address_blocked", actor: "system:identity", refusedCount: 40,
                        identifierIsDigest: false
                    )
                ]
            )
            // The event names the address by its keyed digest only.
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*) FROM outbox_events WHERE type = 'auth.refusals_counted' AND aggregatetype = 'client_address'
                        AND aggregateid LIKE 'hmac:v1:%' AND payload->>'refused_count' = '40' AND payload->>'reason_code' = 'address_blocked'
                        AND payload::text NOT LIKE '%\(Self.blockedAddress)%'
                    """
                ) == 1
            )
            #expect(try await fixture.count("SELECT sum(refusals) FROM ip_login_failures") == 0)
            // Recorded once: neither another attempt nor housekeeping records it again.
            #expect(try await attempts.login("later@example.test", from: Self.blockedAddress)?.slug == "invalid-credentials")
            #expect(try await attempts.identity.recordEndedRefusalWindows(tenant: fixture.tenant, logger: fixture.logger) == 0)
            #expect(try await Self.countEntries(fixture).count == 1)
        }
    }

    @Test func parallelRefusalsOfALockedLoginRecordExactlyOneInFull() async throws {
        try await TenantFixture.with(migrations: try Self.migrations()) { fixture in
            let attempts = Attempts(fixture, clock: TestClock())
            for _ in 0..<5 { _ = try await attempts.login("locked@example.test", from: "198.51.100.2") }
            let refused = try await attempts.parallelLogins(25, email: { _ in "locked@example.test" }, from: "198.51.100.3")
            #expect(refused == Array(repeating: "account-locked", count: 25))
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'auth.login_refused'") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events WHERE type = 'auth.login_refused'") == 1)
            #expect(try await fixture.count("SELECT sum(refusals) FROM login_throttles") == 25)
            // The first refusal of an unknown identifier carries its digest, as its failures do.
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*) FROM audit_entries r JOIN audit_entries f ON f.details->>'identifier' = r.details->>'identifier'
                    WHERE r.action = 'auth.login_refused' AND f.action = 'auth.login_failed' AND r.details ? 'lock_expires_at'
                    """
                ) == 5
            )
        }
    }

    @Test func housekeepingRecordsTheCountOfAWindowNoAttemptCameBackToAndNothingForASingleRefusal() async throws {
        try await TenantFixture.with(migrations: try Self.migrations()) { fixture in
            let clock = TestClock()
            let attempts = Attempts(fixture, clock: clock)
            for email in ["locked@example.test", "once@example.test"] {
                for _ in 0..<5 { _ = try await attempts.login(email, from: "198.51.100.4") }
            }
            for _ in 0..<10 { #expect(try await attempts.login("locked@example.test", from: "198.51.100.5")?.slug == "account-locked") }
            #expect(try await attempts.login("once@example.test", from: "198.51.100.5")?.slug == "account-locked")
            // Nothing is due while the locks hold.
            #expect(try await attempts.identity.recordEndedRefusalWindows(tenant: fixture.tenant, logger: fixture.logger) == 0)

            clock.advance(LockoutPolicy().firstLockDuration + 1)
            #expect(try await attempts.identity.recordEndedRefusalWindows(tenant: fixture.tenant, logger: fixture.logger) == 1)
            #expect(try await attempts.identity.recordEndedRefusalWindows(tenant: fixture.tenant, logger: fixture.logger) == 0)
            #expect(
                try await Self.countEntries(fixture) == [
                    CountEntry(
                        entityType: "customer", entityID: nil, reasonCode: "account_locked", actor: "system:identity", refusedCount: 10,
                        identifierIsDigest: true
                    )
                ]
            )
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events WHERE type = 'auth.refusals_counted' AND payload->>'refused_count' = '10'") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM login_throttles WHERE refusal_window_ends_at IS NOT NULL AND refusals > 1") == 0)
        }
    }
}
