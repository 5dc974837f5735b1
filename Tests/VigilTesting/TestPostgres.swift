import Crypto
import Foundation
public import Logging
public import PostgresNIO
public import VigilStorage

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL every test of this process talks to: one embedded cluster started on first
/// use (through the same `EmbeddedCluster` code as `vigil serve`), stopped when the process exits.
///
/// Each test gets its own catalog and tenant databases, cloned from migrated templates
/// (`CREATE DATABASE … TEMPLATE`), so tests running in parallel never share state. A test names
/// the tenant migrations it needs (the storage tests only storage's, the application tests every
/// domain's); each distinct list is migrated into its own template once per process.
public actor TestPostgres {
    public static let shared = TestPostgres()

    static let catalogTemplate = "vigil_catalog_template"

    /// One start for the whole process: an actor is re-entrant across awaits, so concurrent
    /// first callers share this task instead of each starting a cluster.
    private var starting: Task<EmbeddedCluster, any Error>?
    /// The migrated template tenant of each list of migrations, keyed by the list's digest.
    private var templates: [String: Task<TenantRecord, any Error>] = [:]
    /// Database waits for tests that run many writers at once on a loaded machine: they test
    /// what is written, not the server's bounded waits (DatabasePoolTests does).
    public static let patientLimits = DatabaseLimits(acquireTimeout: .seconds(60), statementTimeout: .seconds(60))

    public static let logger: Logger = {
        var logger = Logger(label: "vigil-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The cluster, started and templated if this is the first call.
    public func cluster() async throws -> EmbeddedCluster {
        try await start()
    }

    private func start() async throws -> EmbeddedCluster {
        if let starting { return try await starting.value }
        let task = Task { try await Self.startCluster() }
        starting = task
        return try await task.value
    }

    /// The template tenant migrated with `migrations`, made on first use.
    private func template(_ migrations: [Migration]) async throws -> TenantRecord {
        let digest = Self.digest(migrations)
        if let template = templates[digest] { return try await template.value }
        let cluster = try await start()
        let task = Task { try await Self.makeTemplate(slug: "template-\(digest.prefix(12))", migrations: migrations, server: cluster.server) }
        templates[digest] = task
        return try await task.value
    }

    static func digest(_ migrations: [Migration]) -> String {
        var hasher = SHA256()
        for migration in migrations { hasher.update(data: Data("\(migration.id)\u{0}\(migration.checksum)\u{0}".utf8)) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func makeTemplate(slug: String, migrations: [Migration], server: DatabaseServer) async throws -> TenantRecord {
        let provisioner = TenantProvisioner(server: server, tenantMigrations: migrations)
        return try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: server.catalogDatabase), logger: Self.logger) { client in
            try await provisioner.create(slug: slug, hosts: ["\(slug).invalid"], catalog: CatalogStore(client: DatabasePool(postgres: client)), logger: Self.logger)
        }
    }

    private static func startCluster() async throws -> EmbeddedCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        let cluster = try await EmbeddedCluster.prepare(dataDirectory: directory)
        try await cluster.start(logger: Self.logger)
        ClusterShutdown.register(cluster: cluster)

        let server = cluster.server
        try await TenantProvisioner(server: server, tenantMigrations: []).prepareCatalog(logger: Self.logger)
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: "postgres"), logger: Self.logger) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: Self.catalogTemplate) TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", logger: Self.logger)
        }
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: Self.catalogTemplate), logger: Self.logger) { client in
            try await Migrator().migrate(try StorageMigrations.catalog(), on: client, database: Self.catalogTemplate, logger: Self.logger)
        }
        return cluster
    }

    /// A fresh catalog with the given tenants (slug → hosts), each with its own database cloned
    /// from the template migrated with `migrations`; returns the server with that catalog.
    public func environment(migrations: [Migration], tenants: [String: [String]] = [:]) async throws -> DatabaseServer {
        let cluster = try await start()
        let template = try await template(migrations)
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let catalogName = "test_catalog_\(suffix)"
        let server = cluster.server.withCatalogDatabase(catalogName)
        let records = try await admin(server) { admin in
            var records: [TenantRecord] = []
            try await admin.query("CREATE DATABASE \(unescaped: catalogName) TEMPLATE \(unescaped: Self.catalogTemplate)", logger: Self.logger)
            for (slug, hosts) in tenants.sorted(by: { $0.key < $1.key }) {
                let database = "test_\(suffix)_\(slug.replacingOccurrences(of: "-", with: "_"))"
                try await admin.query(
                    "CREATE DATABASE \(unescaped: database) TEMPLATE \(unescaped: template.databaseName) OWNER \(unescaped: template.owner.name)",
                    logger: Self.logger
                )
                try await admin.query("REVOKE ALL ON DATABASE \(unescaped: database) FROM PUBLIC", logger: Self.logger)
                try await admin.query(
                    "GRANT CONNECT ON DATABASE \(unescaped: database) TO \(unescaped: template.application.name), \(unescaped: template.sequencer.name)",
                    logger: Self.logger
                )
                records.append(
                    TenantRecord(slug: slug, databaseName: database, owner: template.owner, application: template.application, sequencer: template.sequencer, hosts: hosts)
                )
            }
            return records
        }
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: catalogName), logger: Self.logger) { client in
            let catalog = CatalogStore(client: DatabasePool(postgres: client))
            for record in records { try await catalog.insert(record, logger: Self.logger) }
        }
        return server
    }

    /// An empty database (no migrations) for tests of the migrator itself.
    public func emptyDatabase() async throws -> (server: DatabaseServer, database: String) {
        let cluster = try await start()
        let name = "test_empty_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        try await admin(cluster.server) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: name)", logger: Self.logger)
        }
        return (cluster.server, name)
    }

    /// Runs `body` as the server's administrator on the `postgres` database.
    @discardableResult
    public func admin<Result: Sendable>(_ server: DatabaseServer, _ body: @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: "postgres"), logger: Self.logger, body)
    }
}

/// Stops the test cluster when the test process exits, however the tests ended.
enum ClusterShutdown {
    nonisolated(unsafe) private static var clusterDirectory: String?
    nonisolated(unsafe) private static var rootToRemove: String?

    static func register(cluster: EmbeddedCluster) {
        clusterDirectory = cluster.layout.clusterDirectory
        rootToRemove = cluster.layout.isRelocated ? cluster.layout.clusterRoot : cluster.layout.dataDirectory
        atexit {
            ClusterShutdown.stop()
        }
    }

    /// SIGINT is PostgreSQL's fast shutdown; wait for the postmaster to go, then remove its files.
    static func stop() {
        guard let directory = clusterDirectory,
            let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) })
        else { return }
        kill(pid, SIGINT)
        for _ in 0..<200 where kill(pid, 0) == 0 {
            usleep(25_000)
        }
        if let root = rootToRemove { try? FileManager.default.removeItem(atPath: root) }
    }
}
