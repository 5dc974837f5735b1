import Audit
import VigilStorage
import VigilTesting

extension TenantFixture {
    /// The write path's tests run on storage's and audit's tables: nothing else is needed.
    static func audit<Result: Sendable>(
        slug: String = "t", masterKey: MasterKey = .generate(), _ body: @Sendable (TenantFixture) async throws -> Result
    ) async throws -> Result {
        let migrations = try MigrationPlan.ordered([StorageMigrations.tenant(), AuditMigrations.tenant()])
        return try await with(migrations: migrations, slug: slug, masterKey: masterKey, body)
    }
}
