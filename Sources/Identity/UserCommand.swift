public import ArgumentParser
import Foundation
import VigilCore
public import VigilHTTP

/// `vigil user create`: a staff user without a password, and the single-use enrolment link that sets it.
public struct UserCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage staff users.",
        subcommands: [Create.self]
    )

    public init() {}

    public struct Create: DomainCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Create a staff user and print their one-time enrolment link.",
            discussion: """
                The user has no password until the link sets it (single use, valid 72 hours); their first login \
                then enrols TOTP. Use it for a new tenant's first admin.
                """
        )

        @OptionGroup public var common: CommonOptions
        @Option(help: "The tenant's slug.") var tenant: String
        @Option(help: "The user's email address (their login).") var email: String
        @Option(help: "The user's role (roles gain their permissions with access control).") var role: String = "admin"
        @Option(help: "The user's display name (default: the email).") var name: String?

        public init() {}

        public func run(in environment: any CommandEnvironment) async throws {
            let identity = IdentityService(settings: try IdentitySettings.read(from: environment.configuration))
            let (email, name, role) = (email, name ?? email, role)
            let (user, host) = try await environment.withTenant(tenant) { tenant, record in
                let user = try await identity.createStaffUser(
                    email: email, name: name, role: role, tenant: tenant, context: .system("cli", sourceService: IdentityService.sourceService),
                    logger: environment.logger
                )
                return (user, record.hosts.first ?? "localhost")
            }
            print("Created staff user \(user.id.uuidString.lowercased()) (\(email), role \(role)) in tenant \(tenant).")
            print("Enrolment link (single use, valid until \(RFC3339.string(user.expiresAt))):")
            print("  http://\(host):\(environment.port)/enrol#token=\(user.enrolmentToken)")
            print("The link's token sets the password through POST /api/admin/auth/password/set {\"token\",\"password\"}.")
        }
    }
}
