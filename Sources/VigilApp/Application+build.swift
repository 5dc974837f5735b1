import Audit
import VigilCore
public import Hummingbird
public import Identity
public import Logging
public import Prometheus
public import ServiceLifecycle
public import VigilStorage

/// What the application needs from the outside world; tests replace fields, production uses `.live`.
public struct AppDependencies: Sendable {
    public var logger: Logger
    public var metrics: PrometheusCollectorRegistry
    /// The root of the keyring (decision 18): from `VIGIL_MASTER_KEY_FILE`/`VIGIL_MASTER_KEY`, or the demo's generated file.
    public var masterKey: MasterKey
    /// Services started before and stopped after everything else (the embedded cluster).
    public var foundationServices: [any Service]
    /// Runs once the schema is up to date and before the server accepts connections (the demo seeds here).
    public var afterMigrations: (@Sendable (DatabaseServer, TenantDirectory, Logger) async throws -> Void)?
    /// Extra routes a test registers on the root router and on the tenant-scoped `/api` group, to
    /// exercise the platform's middleware and the write path on routes of its own.
    public var additionalRoutes: (@Sendable (Router<VigilRequestContext>, RouterGroup<VigilRequestContext>) -> Void)?
    /// Identity's settings; nil takes them from the configuration (tests set a clock and a low bcrypt cost).
    public var identitySettings: IdentitySettings?

    public init(
        logger: Logger,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        masterKey: MasterKey,
        foundationServices: [any Service] = [],
        afterMigrations: (@Sendable (DatabaseServer, TenantDirectory, Logger) async throws -> Void)? = nil,
        additionalRoutes: (@Sendable (Router<VigilRequestContext>, RouterGroup<VigilRequestContext>) -> Void)? = nil,
        identitySettings: IdentitySettings? = nil
    ) {
        self.identitySettings = identitySettings
        self.logger = logger
        self.metrics = metrics
        self.masterKey = masterKey
        self.foundationServices = foundationServices
        self.afterMigrations = afterMigrations
        self.additionalRoutes = additionalRoutes
    }
}

/// Builds the Vigil application on `database`: the router, its middleware, and the services
/// (tenant pools, the audit sequencer) that run with it. Migrations of the catalog and every tenant
/// run before the server accepts connections.
public func buildApplication(
    _ configuration: AppConfiguration,
    database: DatabaseServer,
    dependencies: AppDependencies
) async throws -> some ApplicationProtocol {
    let directory = TenantDirectory(
        server: database, poolSize: configuration.poolSize, keyring: Keyring(masterKey: dependencies.masterKey), logger: dependencies.logger
    )
    let router = try buildRouter(configuration, directory: directory, dependencies: dependencies)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Vigil"),
        logger: dependencies.logger
    )
    app.addServices(dependencies.foundationServices)
    let sequencer = SequencerService(directory: directory, logger: dependencies.logger)
    app.addServices(directory, sequencer)
    app.beforeServerStarts {
        try await DatabaseBootstrap(server: database).migrateEverything(logger: dependencies.logger)
        try await checkMasterKey(directory: directory, logger: dependencies.logger)
        sequencer.start()
        try await dependencies.afterMigrations?(database, directory, dependencies.logger)
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

/// The router with every route Vigil serves; `buildApplication` wraps it in an application.
public func buildRouter(
    _ configuration: AppConfiguration,
    directory: TenantDirectory,
    dependencies: AppDependencies
) throws -> Router<VigilRequestContext> {
    let router = Router(context: VigilRequestContext.self)
    router.add(middleware: RequestMetadataMiddleware(trustedProxies: configuration.trustedProxies))
    router.add(middleware: AccessLogMiddleware(registry: dependencies.metrics))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ProblemMiddleware(maxBodyBytes: configuration.maxBodyBytes))
    router.add(middleware: RequestGuardMiddleware(maxBodyBytes: configuration.maxBodyBytes))

    HealthController(directory: directory).addRoutes(to: router)
    MetricsController(registry: dependencies.metrics).addRoutes(to: router)
    try OpenAPIController().addRoutes(to: router)

    let identity = IdentityService(settings: dependencies.identitySettings ?? configuration.identitySettings)
    router.group(".well-known")
        .add(middleware: TenantMiddleware(directory: directory))
        .get("jwks.json") { _, context -> Response in
            guard let tenant = context.tenant else { throw Problem.unknownTenant() }
            let body = try context.responseEncoder.encode(try await identity.tokenKeys.jwks(tenant: tenant, logger: context.logger))
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
            )
        }

    // Authentication runs before idempotency: a key's scope includes the principal.
    let tenantScoped = router.group("api")
        .add(middleware: TenantMiddleware(directory: directory))
        .add(middleware: AuthenticationMiddleware(identity: identity))
        .add(middleware: IdempotencyMiddleware())
    TenantController().addRoutes(to: tenantScoped)
    IdentityController(identity: identity).addRoutes(to: tenantScoped)

    dependencies.additionalRoutes?(router, tenantScoped)
    return router
}
