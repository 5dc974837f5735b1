import Audit
import Foundation
import Logging
import Testing
import VigilCore
import VigilHTTP
import VigilStorage
import VigilTesting

@testable import Identity

/// Access-token keys through the shared signing-key store: rotation, retirement, nothing deleted.
@Suite struct TokenKeyRotationTests {
    static func migrations() throws -> [Migration] {
        try MigrationPlan.ordered([StorageMigrations.tenant(), Domain.audit.tenantMigrations(), Domain.identity().tenantMigrations()])
    }

    static func token(_ identity: IdentityService, _ tenant: TenantDatabase, logger: Logger) async throws -> String {
        try await identity.accessToken(
            tenant: tenant, population: .staff, principalID: UUID(), sessionID: UUID(), amr: ["pwd", "otp"], authTime: identity.clock.now,
            now: identity.clock.now, logger: logger
        )
    }

    static func kid(of token: String) throws -> String {
        let header = try #require(token.split(separator: ".").first)
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let data = try #require(Data(base64Encoded: base64))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(json["kid"] as? String)
    }

    @Test func aRotatedKeyVerifiesItsTokensUntilTheyExpireAndEveryPublicKeyIsKept() async throws {
        try await TenantFixture.with(migrations: try Self.migrations()) { fixture in
            let clock = TestClock()
            let identity = IdentityService(settings: IdentitySettings(), clock: clock.wallClock)
            let (tenant, logger) = (fixture.tenant, fixture.logger)
            let before = try await Self.token(identity, tenant, logger: logger)
            let firstKID = try Self.kid(of: before)

            let rotated = try await identity.tokenKeys.rotate(tenant: tenant, context: .system("test"), logger: logger)
            #expect(rotated.retiredKID == firstKID)
            let after = try await Self.token(identity, tenant, logger: logger)
            #expect(try Self.kid(of: after) == rotated.kid)
            #expect(rotated.kid != firstKID)
            // The retired key still verifies what it signed, and both keys are published.
            _ = try await identity.tokenKeys.verify(before, tenant: tenant, now: clock.now, logger: logger)
            _ = try await identity.tokenKeys.verify(after, tenant: tenant, now: clock.now, logger: logger)
            #expect(try await identity.tokenKeys.jwks(tenant: tenant, logger: logger).keys.map(\.kid) == [firstKID, rotated.kid])

            // Within a token's lifetime and the minute another process may still sign with it, it stays…
            clock.advance(IdentitySettings().accessTokenLifetime + 30)
            let fresh = TokenKeys(accessTokenLifetime: IdentitySettings().accessTokenLifetime, clock: clock.wallClock)
            #expect(try await fresh.jwks(tenant: tenant, logger: logger).keys.map(\.kid) == [firstKID, rotated.kid])
            // …then, its tokens expired everywhere, it leaves the JWKS…
            clock.advance(31)
            let reloaded = TokenKeys(accessTokenLifetime: IdentitySettings().accessTokenLifetime, clock: clock.wallClock)
            #expect(try await reloaded.jwks(tenant: tenant, logger: logger).keys.map(\.kid) == [rotated.kid])
            // …but no public key is ever deleted: old signatures stay checkable.
            let published = try await SigningKeys.published(.accessTokens, tenant: tenant, logger: logger)
            #expect(published.map(\.kid) == [firstKID, rotated.kid])
            #expect(published.first?.retiredAt != nil && published.last?.retiredAt == nil)

            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'token_key.created'") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'token_key.rotated' AND entity_id = '\(rotated.kid)'") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events WHERE type = 'token_key.rotated'") == 1)
        }
    }

    @Test func theApplicationRoleCannotDeleteAKey() async throws {
        try await TenantFixture.with(migrations: try Self.migrations()) { fixture in
            let identity = IdentityService(settings: IdentitySettings())
            _ = try await identity.tokenKeys.jwks(tenant: fixture.tenant, logger: fixture.logger)
            await #expect(throws: (any Error).self) {
                try await fixture.tenant.client.query("DELETE FROM token_signing_keys", logger: fixture.logger)
            }
            #expect(try await fixture.count("SELECT count(*) FROM token_signing_keys") == 1)
        }
    }
}
