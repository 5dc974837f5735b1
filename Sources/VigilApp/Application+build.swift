public import Configuration
public import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle
public import VigilCore
public import VigilHTTP
public import VigilStorage

/// What the application needs from the outside world; tests replace fields, production uses the defaults.
public struct AppDependencies: Sendable {
    public var logger: Logger
    public var metrics: PrometheusCollectorRegistry
    /// The root of the keyring (decision 18): from `VIGIL_MASTER_KEY_FILE`/`VIGIL_MASTER_KEY`, or the demo's generated file.
    public var masterKey: MasterKey
    /// The domains the application runs, in order (decision 21). Tests add a domain of their own.
    public var domains: [Domain]
    /// Where domains read their settings.
    public var settings: ConfigReader
    public var clock: WallClock
    /// Services started before and stopped after everything else (the embedded cluster).
    public var foundationServices: [any Service]
    /// Whether to create the demo tenant and its data once migrations have run (`vigil demo`).
    public var seedsDemo: Bool

    public init(
        logger: Logger,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        masterKey: MasterKey,
        domains: [Domain] = VigilDomains.all,
        settings: ConfigReader = ConfigReader(provider: EnvironmentVariablesProvider()),
        clock: WallClock = .system,
        foundationServices: [any Service] = [],
        seedsDemo: Bool = false
    ) {
        self.logger = logger
        self.metrics = metrics
        self.masterKey = masterKey
        self.domains = domains
        self.settings = settings
        self.clock = clock
        self.foundationServices = foundationServices
        self.seedsDemo = seedsDemo
    }
}

/// The route table of `domains` with the platform's own routes: what the router, the OpenAPI
/// check and the audited-routes walk read.
public func routeTable(_ domains: [Domain]) throws -> RouteTable {
    try RouteTable(PlatformRoutes.declarations + domains.flatMap(\.routes))
}

/// Builds the Vigil application on `database`: every domain started, the router built from the
/// route table, and the services (tenant pools, the domains' services) that run with it.
/// Migrations of the catalog and every tenant run before the server accepts connections.
public func buildApplication(
    _ configuration: AppConfiguration,
    database: DatabaseServer,
    dependencies: AppDependencies
) async throws -> some ApplicationProtocol {
    let directory = TenantDirectory(
        server: database, poolSize: configuration.poolSize, limits: configuration.databaseLimits,
        keyring: Keyring(masterKey: dependencies.masterKey), logger: dependencies.logger
    )
    let context = DomainContext(directory: directory, configuration: dependencies.settings, clock: dependencies.clock, logger: dependencies.logger)
    var started: [DomainRuntime] = []
    for domain in dependencies.domains { started.append(try await domain.start(context)) }
    let runtimes = started
    let router = try VigilRouter.build(
        table: try routeTable(dependencies.domains),
        controllers: try PlatformRoutes.controllers(directory: directory, metrics: dependencies.metrics, metricsAccess: configuration.metricsAccess)
            + runtimes.flatMap(\.controllers),
        authenticators: runtimes.flatMap(\.authenticators),
        directory: directory,
        metrics: dependencies.metrics,
        options: .init(trustedProxies: configuration.trustedProxies, maxBodyBytes: configuration.maxBodyBytes)
    )
    var app = Application(
        router: router,
        server: .vigil(settings: configuration.edge, limiter: ConnectionLimiter(limit: configuration.edge.maxConnections)),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Vigil"),
        logger: dependencies.logger
    )
    app.addServices(dependencies.foundationServices)
    app.addServices(directory)
    app.addServices(runtimes.flatMap(\.services))
    let bootstrap = DatabaseBootstrap(server: database, domains: dependencies.domains)
    app.beforeServerStarts {
        try await bootstrap.migrateEverything(logger: dependencies.logger)
        try await checkMasterKey(directory: directory, logger: dependencies.logger)
        for runtime in runtimes { try await runtime.afterMigrations?() }
        if dependencies.seedsDemo {
            try await DemoSeeder(bootstrap: bootstrap, configuration: configuration, seeds: runtimes.compactMap(\.demoSeed))
                .seed(directory: directory, logger: dependencies.logger)
        }
        try await bootstrap.provisioner.applySessionLimits(configuration.databaseLimits, logger: dependencies.logger)
    }
    return app
}

/// Opens every tenant's key with the configured master key, so a wrong key stops start-up with a
/// clear message instead of failing each write (and a tenant without a key gets one now).
func checkMasterKey(directory: TenantDirectory, logger: Logger) async throws {
    for record in try await directory.catalog.all(logger: logger) {
        guard let tenant = try await directory.tenant(slug: record.slug) else { continue }
        try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
    }
}
