import Foundation
public import VigilHTTP
public import VigilStorage

extension Domain {
    /// Identity (spec 02): logins, second factors, sessions and tokens for staff and customers.
    /// `settings` nil reads them from the environment; tests pass their own (a low bcrypt cost).
    public static func identity(settings: IdentitySettings? = nil) -> Domain {
        Domain(
            name: "identity",
            tenantMigrations: { try IdentityMigrations.tenant() },
            routes: IdentityRoutes.declarations,
            commands: [UserCommand.self, TokenKeysCommand.self],
            settings: IdentitySettings.declarations,
            checkSettings: { _ = try IdentitySettings.read(from: $0) },
            start: { context in
                let identity = IdentityService(settings: try settings ?? IdentitySettings.read(from: context.configuration), clock: context.clock)
                return DomainRuntime(
                    controllers: [IdentityController(identity: identity)],
                    authenticators: [BearerTokenAuthenticator(identity: identity)],
                    demoSeed: { tenant, logger in try await IdentityDemo(identity: identity).seed(tenant: tenant, logger: logger) },
                    jobs: [
                        // Records the count of refusal windows no attempt came back to (decision 0014).
                        PeriodicJob(name: "identity.refusal-counts", interval: .seconds(60)) { tenant, logger in
                            _ = try await identity.recordEndedRefusalWindows(tenant: tenant, logger: logger)
                        }
                    ]
                )
            }
        )
    }
}
