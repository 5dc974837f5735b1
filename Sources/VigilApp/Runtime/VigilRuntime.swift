public import Configuration
import Foundation
public import Logging
public import Prometheus
import PostgresNIO
import ServiceLifecycle
public import VigilHTTP
public import VigilStorage

/// What the `vigil` commands do, apart from parsing their arguments.
public enum VigilRuntime {
    /// `vigil serve` and `vigil demo`: takes the data directory's lock, starts (or adopts) the
    /// embedded cluster unless an external one is configured, migrates, and serves until SIGINT or SIGTERM.
    public static func serve(_ configuration: AppConfiguration, demo: Bool, logger: Logger, metrics: PrometheusCollectorRegistry) async throws {
        let server: DatabaseServer
        var embedded: EmbeddedCluster?
        let lock: DataDirectoryLock
        if let url = configuration.catalogURL {
            try createDirectory(configuration.dataDirectory)
            lock = try DataDirectoryLock.acquire(dataDirectory: ClusterLayout.absolutePath(configuration.dataDirectory))
            server = try DatabaseServer.external(url: url)
        } else {
            let cluster = try await EmbeddedCluster.prepare(dataDirectory: configuration.dataDirectory)
            lock = try DataDirectoryLock.acquire(dataDirectory: cluster.layout.dataDirectory)
            if try await cluster.start(logger: logger) == .alreadyRunning {
                logger.notice("Adopted an embedded PostgreSQL left running; it will be stopped when vigil stops")
            }
            server = cluster.server
            embedded = cluster
        }
        let masterKey = try await stopping(embedded, ifFailing: logger) {
            try resolveMasterKey(configuration, generateInDataDirectory: demo || configuration.catalogURL == nil, logger: logger)
        }
        // The cluster's service is stopped last, after the server and pools, whatever ends the service group.
        let foundationServices: [any Service] = embedded.map { [EmbeddedClusterService(cluster: $0, logger: logger)] } ?? []
        let app = try await stopping(embedded, ifFailing: logger) {
            try await buildApplication(
                configuration,
                database: server,
                dependencies: AppDependencies(
                    logger: logger, metrics: metrics, masterKey: masterKey, foundationServices: foundationServices, seedsDemo: demo
                )
            )
        }
        // The deadline comes last: services stop in reverse order, so its timer starts first.
        let group = ServiceGroup(
            configuration: .init(
                services: [app, StopDeadline(deadline: StopDeadline.default, cluster: embedded, logger: logger)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        withExtendedLifetime(lock) {}
    }

    /// Runs `body`; if it fails, stops the cluster started for it (no service exists yet to do so).
    private static func stopping<Result>(_ cluster: EmbeddedCluster?, ifFailing logger: Logger, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            try? await cluster?.stop(logger: logger)
            throw error
        }
    }

    /// Runs `body` against the configured server for a command other than `serve`: an external
    /// server as is; the embedded cluster as it runs (a server's), or started for the command and
    /// stopped after it.
    public static func withDatabase<Result: Sendable>(
        _ configuration: AppConfiguration,
        logger: Logger,
        _ body: @Sendable (DatabaseServer) async throws -> Result
    ) async throws -> Result {
        if let url = configuration.catalogURL {
            return try await body(try DatabaseServer.external(url: url))
        }
        let cluster = try await EmbeddedCluster.prepare(dataDirectory: configuration.dataDirectory)
        let outcome = try await cluster.start(logger: logger)
        let startedHere = outcome != .alreadyRunning
        do {
            let result = try await body(cluster.server)
            if startedHere { try await cluster.stop(logger: logger) }
            return result
        } catch {
            if startedHere { try? await cluster.stop(logger: logger) }
            throw error
        }
    }

    /// `vigil migrate`: the catalog and every tenant.
    public static func migrate(_ configuration: AppConfiguration, logger: Logger) async throws {
        try await withDatabase(configuration, logger: logger) { server in
            try await DatabaseBootstrap(server: server).migrateEverything(logger: logger)
        }
    }

    /// `vigil tenant create`.
    public static func createTenant(slug: String, hosts: [String], _ configuration: AppConfiguration, logger: Logger) async throws -> TenantListing {
        try await withDatabase(configuration, logger: logger) { server in
            let bootstrap = DatabaseBootstrap(server: server)
            try await bootstrap.migrateEverything(logger: logger)
            let provisioner = try bootstrap.provisioner
            let record = try await bootstrap.withCatalog(logger: logger) { catalog in
                try await provisioner.create(slug: slug, hosts: hosts, catalog: catalog, logger: logger)
            }
            return TenantListing(record, server: server)
        }
    }

    /// `vigil tenant list`.
    public static func listTenants(_ configuration: AppConfiguration, logger: Logger) async throws -> [TenantListing] {
        try await withDatabase(configuration, logger: logger) { server in
            let bootstrap = DatabaseBootstrap(server: server)
            try await bootstrap.provisioner.prepareCatalog(logger: logger)
            return try await bootstrap.withCatalog(logger: logger) { catalog in
                try await catalog.all(logger: logger).map { TenantListing($0, server: server) }
            }
        }
    }

    /// The master key from `VIGIL_MASTER_KEY` or `VIGIL_MASTER_KEY_FILE`; without either, and when
    /// allowed (the demo, the embedded default), one generated once into the data directory.
    public static func resolveMasterKey(_ configuration: AppConfiguration, generateInDataDirectory: Bool, logger: Logger) throws -> MasterKey {
        if let encoded = configuration.masterKey { return try MasterKey(encoded: encoded, source: "VIGIL_MASTER_KEY") }
        if let file = configuration.masterKeyFile { return try MasterKey.load(file: file) }
        guard generateInDataDirectory else {
            throw MasterKey.Invalid(
                description: "no master key: set VIGIL_MASTER_KEY_FILE (a 0600 file holding 32 bytes as base64) or VIGIL_MASTER_KEY"
            )
        }
        let path = ClusterLayout.absolutePath(configuration.dataDirectory) + "/master.key"
        let (key, created) = try MasterKey.loadOrCreate(file: path)
        logger.warning(
            created ? "Generated a master key in the data directory" : "Using the master key kept in the data directory",
            metadata: [
                "path": "\(path)",
                "advice": "anyone who can read the data directory can unseal personal data; set VIGIL_MASTER_KEY_FILE to a key kept elsewhere in production",
            ]
        )
        return key
    }

    static func createDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
    }
}

/// One line of `vigil tenant list --json`; the URL connects `psql` as the tenant's database owner.
public struct TenantListing: Codable, Sendable, Equatable {
    public let slug: String
    public let databaseURL: String
    public let hosts: [String]

    enum CodingKeys: String, CodingKey {
        case slug
        case databaseURL = "database_url"
        case hosts
    }

    init(_ record: TenantRecord, server: DatabaseServer) {
        slug = record.slug
        databaseURL = server.url(role: record.owner, database: record.databaseName)
        hosts = record.hosts
    }
}
