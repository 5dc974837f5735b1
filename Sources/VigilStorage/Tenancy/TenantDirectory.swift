public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// One tenant's runtime handle: its slug, the bounded pool of its application role, the keyring
/// that seals its audit entries and the signal that wakes its sequencer after a commit.
public struct TenantDatabase: Sendable {
    public let slug: String
    public let databaseName: String
    /// Connects as the tenant's application role: DML where allowed, nothing it should not own.
    public let client: DatabasePool
    public let keyring: Keyring
    public let commitSignal: CommitSignal

    public init(slug: String, databaseName: String, client: DatabasePool, keyring: Keyring, commitSignal: CommitSignal) {
        self.slug = slug
        self.databaseName = databaseName
        self.client = client
        self.keyring = keyring
        self.commitSignal = commitSignal
    }
}

/// Resolves requests to tenants and owns every database pool of the process.
///
/// Pools are created lazily, on a tenant's first request, each bounded to
/// `poolSize` connections; the catalog pool is created with the directory. All pools run inside
/// this service, so the service group starts and stops them with the application.
public final class TenantDirectory: Service, Sendable {
    public let server: DatabaseServer
    public let poolSize: Int
    public let limits: DatabaseLimits
    public let catalog: CatalogStore
    private let catalogClient: DatabasePool
    public let keyring: Keyring
    /// Signalled when a tenant's pool opens, so the sequencer picks up a tenant created while running at once.
    public let tenantOpened = CommitSignal()
    private let logger: Logger
    private let backgroundLogger: Logger
    private let tenants = Mutex<[String: TenantDatabase]>([:])
    private let hosts = Mutex<[String: String]>([:])
    private let sequencerClients = Mutex<[String: DatabasePool]>([:])
    private let commitSignals = Mutex<[String: CommitSignal]>([:])
    private let newClients: AsyncStream<PostgresClient>
    private let newClientsContinuation: AsyncStream<PostgresClient>.Continuation

    public init(server: DatabaseServer, poolSize: Int, limits: DatabaseLimits = DatabaseLimits(), keyring: Keyring, logger: Logger) {
        self.server = server
        self.poolSize = poolSize
        self.limits = limits
        self.keyring = keyring
        self.logger = logger
        (newClients, newClientsContinuation) = AsyncStream.makeStream()
        backgroundLogger = logger.forPoolInternals
        var configuration = server.configuration(role: server.administrator, database: server.catalogDatabase, limits: limits)
        configuration.options.maximumConnections = 4
        let catalogPool = DatabasePool(
            postgres: PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger), acquireTimeout: limits.acquireTimeout
        )
        catalogClient = catalogPool
        catalog = CatalogStore(client: catalogPool)
        newClientsContinuation.yield(catalogPool.postgres)
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
            let client = pool(role: record.application, database: record.databaseName, maximumConnections: poolSize)
            let database = TenantDatabase(
                slug: slug, databaseName: record.databaseName, client: client, keyring: keyring, commitSignal: commitSignal(slug: slug)
            )
            tenants[slug] = database
            tenantOpened.signal()
            return database
        }
    }

    /// The signal that wakes tenant `slug`'s sequencer; writers and the sequencer share it.
    public func commitSignal(slug: String) -> CommitSignal {
        commitSignals.withLock { signals in
            if let signal = signals[slug] { return signal }
            let signal = CommitSignal()
            signals[slug] = signal
            return signal
        }
    }

    /// A small pool connecting as `record`'s sequencer role, opened on first use.
    public func sequencerClient(for record: TenantRecord) -> DatabasePool {
        sequencerClients.withLock { clients in
            if let client = clients[record.slug] { return client }
            let client = pool(role: record.sequencer, database: record.databaseName, maximumConnections: 2)
            clients[record.slug] = client
            return client
        }
    }

    /// A new bounded pool, run by this service from now on.
    private func pool(role: DatabaseRole, database: String, maximumConnections: Int) -> DatabasePool {
        var configuration = server.configuration(role: role, database: database, limits: limits)
        configuration.options.maximumConnections = maximumConnections
        let pool = DatabasePool(
            postgres: PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger), acquireTimeout: limits.acquireTimeout
        )
        newClientsContinuation.yield(pool.postgres)
        return pool
    }

    /// The readiness of the catalog and of every open tenant pool: whether each answered
    /// `SELECT 1` within `timeout`. The checks run at once, in tasks of their own, so a server that
    /// hangs is reported as failing when the timeout passes, not when the server answers.
    public func readiness(timeout: Duration, logger: Logger) async -> [String: Bool] {
        let pools = [("catalog", catalogClient)] + tenants.withLock { $0.map { ("tenant:\($0.key)", $0.value.client) } }
        let answers = pools.map { _ in OneShot<Bool>() }
        for ((_, pool), answer) in zip(pools, answers) {
            Task {
                let result = try? await pool.withConnection { connection in
                    try await connection.query("SELECT 1", logger: logger).decode(Int.self).reduce(0, +)
                }
                answer.fulfil(result == 1)
            }
        }
        let deadline = Task {
            try await Task.sleep(for: timeout)
            for answer in answers { answer.fulfil(false) }
        }
        var checks: [String: Bool] = [:]
        for ((name, _), answer) in zip(pools, answers) { checks[name] = await answer.value() }
        deadline.cancel()
        return checks
    }
}
