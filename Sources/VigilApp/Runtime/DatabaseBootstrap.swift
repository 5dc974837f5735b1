public import Logging
import Audit
import Identity
import PostgresNIO
public import VigilStorage

/// Brings the server's schema up to date: the catalog first, then every tenant database.
public struct DatabaseBootstrap: Sendable {
    public let server: DatabaseServer

    public init(server: DatabaseServer) {
        self.server = server
    }

    /// The migrations every tenant database gets, in module order.
    public static func tenantMigrations() throws -> [Migration] {
        try StorageMigrations.tenant() + AuditMigrations.tenant() + IdentityMigrations.tenant()
    }

    public var provisioner: TenantProvisioner {
        get throws { TenantProvisioner(server: server, tenantMigrations: try Self.tenantMigrations()) }
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
            try await body(CatalogStore(client: client))
        }
    }
}
