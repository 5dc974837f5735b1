public import ArgumentParser
public import Configuration
public import Logging
public import ServiceLifecycle
public import VigilCore
public import VigilStorage

/// A domain plugs into Vigil at one place (decision 21): its module exports one `Domain` value,
/// and `VigilApp` lists those values. Everything the application needs of a domain is here.
public struct Domain: Sendable {
    /// The domain's name (`identity`, `audit`), used in logs and as its migrations' module.
    public let name: String
    /// The domain's tenant migrations; all domains' are ordered together by their global number.
    public let tenantMigrations: @Sendable () throws -> [Migration]
    /// Every route the domain serves, declared once.
    public let routes: [RouteDeclaration]
    /// `vigil` subcommands the domain adds (`vigil user create`, `vigil audit verify`).
    public let commands: [any ParsableCommand.Type]
    /// The environment variables the domain reads, for `--help`.
    public let settings: [SettingDeclaration]
    /// Checks the domain's settings, so a bad value stops `vigil` before anything starts.
    public let checkSettings: @Sendable (ConfigReader) throws -> Void
    /// Builds the domain's services for a running application.
    public let start: @Sendable (DomainContext) async throws -> DomainRuntime

    public init(
        name: String,
        tenantMigrations: @escaping @Sendable () throws -> [Migration] = { [] },
        routes: [RouteDeclaration] = [],
        commands: [any ParsableCommand.Type] = [],
        settings: [SettingDeclaration] = [],
        checkSettings: @escaping @Sendable (ConfigReader) throws -> Void = { _ in },
        start: @escaping @Sendable (DomainContext) async throws -> DomainRuntime
    ) {
        self.name = name
        self.tenantMigrations = tenantMigrations
        self.routes = routes
        self.commands = commands
        self.settings = settings
        self.checkSettings = checkSettings
        self.start = start
    }
}

/// What the application gives a domain when it starts.
public struct DomainContext: Sendable {
    public let directory: TenantDirectory
    /// Where the domain reads its settings (environment variables through swift-configuration).
    public let configuration: ConfigReader
    public let clock: WallClock
    public let logger: Logger

    public init(directory: TenantDirectory, configuration: ConfigReader, clock: WallClock, logger: Logger) {
        self.directory = directory
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }
}

/// A started domain: its controllers, credential readers, long-running services, demo data and jobs.
public struct DomainRuntime: Sendable {
    public var controllers: [any RouteController]
    /// Readers of request credentials; the first that recognises a request's credential names the caller.
    public var authenticators: [any RequestAuthenticator]
    /// Run by the application's service group, stopped in reverse order.
    public var services: [any Service]
    /// Runs once every database is migrated, before the server accepts connections.
    public var afterMigrations: (@Sendable () async throws -> Void)?
    /// Adds the domain's demo data to a freshly created demo tenant.
    public var demoSeed: (@Sendable (TenantDatabase, Logger) async throws -> DemoCredentials)?
    /// Periodic jobs: the slot is here; the runner that claims and runs them per tenant comes with
    /// the write path's operations.
    public var jobs: [PeriodicJob]

    public init(
        controllers: [any RouteController] = [],
        authenticators: [any RequestAuthenticator] = [],
        services: [any Service] = [],
        afterMigrations: (@Sendable () async throws -> Void)? = nil,
        demoSeed: (@Sendable (TenantDatabase, Logger) async throws -> DemoCredentials)? = nil,
        jobs: [PeriodicJob] = []
    ) {
        self.controllers = controllers
        self.authenticators = authenticators
        self.services = services
        self.afterMigrations = afterMigrations
        self.demoSeed = demoSeed
        self.jobs = jobs
    }
}

/// An environment variable a domain reads, listed by `vigil --help`.
public struct SettingDeclaration: Sendable, Equatable {
    public let variable: String
    public let help: String

    public init(_ variable: String, _ help: String) {
        self.variable = variable
        self.help = help
    }
}

/// A job a domain runs every `interval` in each tenant.
public struct PeriodicJob: Sendable {
    public let name: String
    public let interval: Duration
    public let run: @Sendable (TenantDatabase, Logger) async throws -> Void

    public init(name: String, interval: Duration, run: @escaping @Sendable (TenantDatabase, Logger) async throws -> Void) {
        self.name = name
        self.interval = interval
        self.run = run
    }
}
