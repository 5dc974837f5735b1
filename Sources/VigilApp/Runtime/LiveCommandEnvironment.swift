public import Configuration
import Foundation
public import Logging
public import PostgresNIO
public import VigilHTTP
public import VigilStorage

/// What a domain's `vigil` subcommand runs against: the configured server (an external one as
/// is; the embedded cluster as it runs, or started for the command and stopped after it), its
/// tenants migrated first, and the master key.
public struct LiveCommandEnvironment: CommandEnvironment {
    public let appConfiguration: AppConfiguration
    public let configuration: ConfigReader
    public let logger: Logger
    public var port: Int { appConfiguration.port }

    public init(_ appConfiguration: AppConfiguration, configuration: ConfigReader, logger: Logger) {
        self.appConfiguration = appConfiguration
        self.configuration = configuration
        self.logger = logger
    }

    public func withTenant<Result: Sendable>(
        _ slug: String, _ body: @Sendable (TenantDatabase, TenantRecord) async throws -> Result
    ) async throws -> Result {
        let masterKey = try VigilRuntime.resolveMasterKey(
            appConfiguration, generateInDataDirectory: appConfiguration.catalogURL == nil, logger: logger
        )
        let logger = logger
        return try await VigilRuntime.withDatabase(appConfiguration, logger: logger) { server in
            let bootstrap = DatabaseBootstrap(server: server)
            try await bootstrap.migrateEverything(logger: logger)
            guard let record = try await bootstrap.withCatalog(logger: logger, { try await $0.tenant(slug: slug, logger: logger) }) else {
                throw UnknownTenant(slug: slug)
            }
            let directory = TenantDirectory(server: server, poolSize: 2, keyring: Keyring(masterKey: masterKey), logger: logger)
            return try await withThrowingTaskGroup { group in
                group.addTask { try await directory.run() }
                defer { group.cancelAll() }
                guard let tenant = try await directory.tenant(slug: slug) else { throw UnknownTenant(slug: slug) }
                try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
                return try await body(tenant, record)
            }
        }
    }

    public func forEachTenantAsOwner<Result: Sendable>(
        _ slug: String?, _ body: @Sendable (TenantRecord, PostgresClient) async throws -> Result
    ) async throws -> [(tenant: String, result: Result)] {
        let logger = logger
        return try await VigilRuntime.withDatabase(appConfiguration, logger: logger) { server in
            let bootstrap = DatabaseBootstrap(server: server)
            try await bootstrap.provisioner.prepareCatalog(logger: logger)
            let records = try await bootstrap.withCatalog(logger: logger) { catalog in try await catalog.all(logger: logger) }
            let chosen = records.filter { slug == nil || $0.slug == slug }
            if let slug, chosen.isEmpty { throw UnknownTenant(slug: slug) }
            var results: [(tenant: String, result: Result)] = []
            for record in chosen {
                let result = try await PostgresClient.withRunning(server.configuration(role: record.owner, database: record.databaseName), logger: logger) { client in
                    try await body(record, client)
                }
                results.append((record.slug, result))
            }
            return results
        }
    }
}
