public import ArgumentParser
public import Configuration
public import Logging
public import PostgresNIO
public import VigilStorage

/// Flags every `vigil` command takes.
public struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (env VIGIL_DATA_DIR, default ./.vigil).")
    public var dataDir: String?

    public init() {}
}

/// A `vigil` subcommand a domain contributes. `vigil` parses it like any command, then runs it
/// with a ``CommandEnvironment`` (the configured database, master key and settings) instead of
/// calling `run()`.
public protocol DomainCommand: AsyncParsableCommand {
    var common: CommonOptions { get }
    func run(in environment: any CommandEnvironment) async throws
}

extension DomainCommand {
    public func run() async throws {
        throw ValidationError("This command runs inside the vigil executable.")
    }
}

/// What a domain command may use: the server `vigil` is configured for (embedded or external,
/// started for the command when no server runs), its tenants, and the settings.
public protocol CommandEnvironment: Sendable {
    var logger: Logger { get }
    var configuration: ConfigReader { get }
    /// The port `vigil serve` listens on, for links a command prints.
    var port: Int { get }

    /// Runs `body` with the handle of tenant `slug` (migrated, its keys open) and its host names.
    func withTenant<Result: Sendable>(
        _ slug: String, _ body: @Sendable (TenantDatabase, TenantRecord) async throws -> Result
    ) async throws -> Result

    /// Runs `body` as each tenant's owner (or only `slug`'s), in slug order.
    func forEachTenantAsOwner<Result: Sendable>(
        _ slug: String?, _ body: @Sendable (TenantRecord, PostgresClient) async throws -> Result
    ) async throws -> [(tenant: String, result: Result)]
}

/// `vigil … --tenant NAME` named a tenant the catalog does not have.
public struct UnknownTenant: Error, CustomStringConvertible, Sendable {
    public let slug: String

    public init(slug: String) {
        self.slug = slug
    }

    public var description: String { "There is no tenant '\(slug)' (see 'vigil tenant list')." }
}
