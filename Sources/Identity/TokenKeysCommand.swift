public import ArgumentParser
import Foundation
import VigilCore
public import VigilHTTP
import VigilStorage

/// `vigil token-keys rotate`: a new access-token signing key for a tenant.
public struct TokenKeysCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "token-keys",
        abstract: "Manage a tenant's access-token signing keys.",
        subcommands: [Rotate.self]
    )

    public init() {}

    public struct Rotate: DomainCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Retire the tenant's signing key and make its successor.",
            discussion: """
                New tokens are signed with the new key at once in this command and within a minute in running servers. \
                Tokens signed with the retired key stay valid until they expire, and its public key stays in the JWKS \
                until then; no key is ever deleted.
                """
        )

        @OptionGroup public var common: CommonOptions
        @Option(help: "The tenant's slug.") var tenant: String

        public init() {}

        public func run(in environment: any CommandEnvironment) async throws {
            let settings = try IdentitySettings.read(from: environment.configuration)
            let keys = TokenKeys(accessTokenLifetime: settings.accessTokenLifetime, clock: .system)
            let rotated = try await environment.withTenant(tenant) { tenant, _ in
                try await keys.rotate(tenant: tenant, context: .system("cli", sourceService: IdentityService.sourceService), logger: environment.logger)
            }
            print("Tenant \(tenant) now signs access tokens with key \(rotated.kid)" + (rotated.retiredKID.map { "; key \($0) is retired." } ?? "."))
        }
    }
}
