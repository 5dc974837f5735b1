public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// One tenant's runtime handle: its slug and the bounded pool of its application role.
public struct TenantDatabase: Sendable {
    public let slug: String
    public let databaseName: String
    /// Connects as the tenant's application role: DML where allowed, nothing it should not own.
    public let client: PostgresClient
}

/// Resolves requests to tenants and owns every database pool of the process.
///
/// Pools are created lazily, on a tenant's first request, each bounded to
/// `poolSize` connections; the catalog pool is created with the directory. All pools run inside
/// this service, so the service group starts and stops them with the application.
public final class TenantDirectory: Service, Sendable {
    public let server: DatabaseServer
    public let poolSize: Int
    public let catalog: CatalogStore
    private let logger: Logger
    private let backgroundLogger: Logger
    private let tenants = Mutex<[String: TenantDatabase]>([:])
    private let hosts = Mutex<[String: String]>([:])
    private let newClients: AsyncStream<PostgresClient>
    private let newClientsContinuation: AsyncStream<PostgresClient>.Continuation

    public init(server: DatabaseServer, poolSize: Int, logger: Logger) {
        self.server = server
        self.poolSize = poolSize
        self.logger = logger
        (newClients, newClientsContinuation) = AsyncStream.makeStream()
        backgroundLogger = logger.forPoolInternals
        var configuration = server.configuration(role: server.administrator, database: server.catalogDatabase)
        configuration.options.maximumConnections = 4
        let catalogClient = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        catalog = CatalogStore(client: catalogClient)
        newClientsContinuation.yield(catalogClient)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await client in self.newClients {
                    group.addTask { await client.run() }
                }
            }
        }
    }

    /// The tenant answering on `host` (a `Host` header value), or nil when none does.
    public func tenant(forHost hostHeader: String) async throws -> TenantDatabase? {
        guard let host = TenantName.host(fromHeader: hostHeader) else { return nil }
        if let slug = hosts.withLock({ $0[host] }) { return try await tenant(slug: slug) }
        guard let slug = try await catalog.slug(forHost: host, logger: logger) else { return nil }
        hosts.withLock { $0[host] = slug }
        return try await tenant(slug: slug)
    }

    /// The tenant `slug` (from a host or a token's `tid`), opening its pool on first use.
    public func tenant(slug: String) async throws -> TenantDatabase? {
        if let known = tenants.withLock({ $0[slug] }) { return known }
        guard let record = try await catalog.tenant(slug: slug, logger: logger) else { return nil }
        return tenants.withLock { tenants in
            if let raced = tenants[slug] { return raced }
            var configuration = server.configuration(role: record.application, database: record.databaseName)
            configuration.options.maximumConnections = poolSize
            let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
            let database = TenantDatabase(slug: slug, databaseName: record.databaseName, client: client)
            tenants[slug] = database
            newClientsContinuation.yield(client)
            return database
        }
    }

    /// Whether the catalog and every open pool answer a trivial query.
    public func isReady(logger: Logger) async -> Bool {
        let clients = [catalog.client] + tenants.withLock { Array($0.values.map(\.client)) }
        for client in clients {
            do {
                _ = try await client.query("SELECT 1", logger: logger).decode(Int.self).reduce(0, +)
            } catch {
                return false
            }
        }
        return true
    }
}
