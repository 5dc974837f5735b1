import Audit
import VigilStorage
import VigilTesting

/// The write path's tests run on storage's and audit's tables: nothing else is needed.
func auditTestMigrations() throws -> [Migration] {
    try MigrationPlan.ordered([StorageMigrations.tenant(), AuditMigrations.tenant()])
}

extension TenantFixture {
    static func audit<Result: Sendable>(
        slug: String = "t", masterKey: MasterKey = .generate(), _ body: @Sendable (TenantFixture) async throws -> Result
    ) async throws -> Result {
        try await with(migrations: auditTestMigrations(), slug: slug, masterKey: masterKey, body)
    }
}
