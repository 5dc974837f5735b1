public import Logging
import PostgresNIO
public import VigilHTTP
public import VigilStorage

/// Brings the server's schema up to date: the catalog first, then every tenant database.
public struct DatabaseBootstrap: Sendable {
    public let server: DatabaseServer
    public let domains: [Domain]

    public init(server: DatabaseServer, domains: [Domain] = VigilDomains.all) {
        self.server = server
        self.domains = domains
    }

    /// The migrations every tenant database gets: storage's and every domain's, merged by their
    /// global number, so a migration may use another domain's earlier tables.
    public static func tenantMigrations(_ domains: [Domain] = VigilDomains.all) throws -> [Migration] {
        try MigrationPlan.ordered([StorageMigrations.tenant()] + domains.map { try $0.tenantMigrations() })
    }

    public var provisioner: TenantProvisioner {
        get throws { TenantProvisioner(server: server, tenantMigrations: try Self.tenantMigrations(domains)) }
    }

    public func migrateEverything(logger: Logger) async throws {
        let provisioner = try self.provisioner
        try await provisioner.prepareCatalog(logger: logger)
        try await withCatalog(logger: logger) { catalog in
            for tenant in try await catalog.all(logger: logger) {
                try await provisioner.migrate(tenant, logger: logger)
            }
        }
    }

    /// Runs `body` with the catalog store on a short-lived pool.
    public func withCatalog<Result: Sendable>(logger: Logger, _ body: @Sendable (CatalogStore) async throws -> Result) async throws -> Result {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: server.catalogDatabase), logger: logger) { client in
            try await body(CatalogStore(client: DatabasePool(postgres: client)))
        }
    }
}
