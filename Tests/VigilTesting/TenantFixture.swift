import Foundation
public import Logging
public import PostgresNIO
import VigilCore
public import VigilStorage

/// One fresh tenant with a running directory: its application-role handle (with a keyring), and
/// clients for its sequencer role and for the superuser, for tests of the write path.
public struct TenantFixture: Sendable {
    public let server: DatabaseServer
    public let directory: TenantDirectory
    public let record: TenantRecord
    public let tenant: TenantDatabase
    public let logger: Logger

    /// Runs `body` with a fixture for a new tenant `slug` whose database has `migrations`; pools
    /// stop when it returns.
    public static func with<Result: Sendable>(
        migrations: [Migration],
        slug: String = "t",
        masterKey: MasterKey = .generate(),
        _ body: @Sendable (TenantFixture) async throws -> Result
    ) async throws -> Result {
        let server = try await TestPostgres.shared.environment(migrations: migrations, tenants: [slug: ["\(slug).test"]])
        let logger = TestPostgres.logger
        let directory = TenantDirectory(
            server: server, poolSize: 12, limits: TestPostgres.patientLimits, keyring: Keyring(masterKey: masterKey), logger: logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await directory.run() }
            defer { group.cancelAll() }
            guard let record = try await directory.catalog.tenant(slug: slug, logger: logger),
                let tenant = try await directory.tenant(slug: slug)
            else { throw FixtureError.tenantMissing }
            let fixture = TenantFixture(server: server, directory: directory, record: record, tenant: tenant, logger: logger)
            return try await body(fixture)
        }
    }

    enum FixtureError: Error { case tenantMissing }

    /// The sequencer role's pool for this tenant.
    public var sequencerClient: DatabasePool { directory.sequencerClient(for: record) }

    /// Runs `body` as the superuser on the tenant's database (triggers can be disabled there).
    public func superuser<Result: Sendable>(_ body: @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: record.databaseName), logger: logger, body)
    }

    /// Runs `body` as the tenant's owner role (for test tables the application role may write).
    public func owner<Result: Sendable>(_ body: @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        try await PostgresClient.withRunning(server.configuration(role: record.owner, database: record.databaseName), logger: logger, body)
    }

    /// Counts rows of `sql` (a `SELECT count(*) …`) as the superuser.
    public func count(_ sql: String) async throws -> Int64 {
        try await superuser { client in
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int64.self).reduce(0, +)
        }
    }
}

extension DatabasePool {
    /// One statement straight on the pool, without the server's bounded wait: tests read and
    /// tamper with what the server wrote.
    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await postgres.query(query, logger: logger)
    }
}
