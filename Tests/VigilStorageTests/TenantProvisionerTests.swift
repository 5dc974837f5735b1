import Foundation
import Logging
import PostgresNIO
import Testing
import VigilTesting

@testable import VigilStorage

@Suite struct TenantProvisionerTests {
    let logger = TestPostgres.logger

    /// Provisions real tenants (not template clones) on a fresh catalog.
    func withProvisioner(_ body: @Sendable (TenantProvisioner, CatalogStore, DatabaseServer) async throws -> Void) async throws {
        let server = try await TestPostgres.shared.environment(migrations: try StorageMigrations.tenant())
        let provisioner = TenantProvisioner(server: server, tenantMigrations: try StorageMigrations.tenant())
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: server.catalogDatabase), logger: logger) { client in
            try await body(provisioner, CatalogStore(client: DatabasePool(postgres: client)), server)
        }
    }

    static func uniqueSlug(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased().filter { $0.isLetter || $0.isNumber })"
    }

    @Test func aTenantGetsItsDatabaseRolesMigrationsAndHosts() async throws {
        try await withProvisioner { provisioner, catalog, server in
            let slug = Self.uniqueSlug("acme")
            let record = try await provisioner.create(slug: slug, hosts: ["\(slug).Example", "\(slug).example"], catalog: catalog, logger: logger)
            #expect(record.hosts == ["\(slug).example"])
            #expect(try await catalog.tenant(slug: slug, logger: logger) == record)
            #expect(try await catalog.slug(forHost: "\(slug).example", logger: logger) == slug)

            let applied = try await PostgresClient.withRunning(server.configuration(role: record.owner, database: record.databaseName), logger: logger) { owner in
                try await owner.query("SELECT id FROM vigil_migrations", logger: logger).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            #expect(applied == (try StorageMigrations.tenant()).map(\.id))
        }
    }

    @Test func theApplicationRoleOwnsNothingAndCannotCreateTables() async throws {
        try await withProvisioner { provisioner, catalog, server in
            let record = try await provisioner.create(slug: Self.uniqueSlug("least"), hosts: [Self.uniqueSlug("h") + ".example"], catalog: catalog, logger: logger)
            try await PostgresClient.withRunning(server.configuration(role: record.application, database: record.databaseName), logger: logger) { app in
                await #expect(throws: PSQLError.self) {
                    try await app.query("CREATE TABLE sneaky (x int)", logger: logger)
                }
                let owned = try await app.query(
                    "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user", logger: logger
                ).decode(Int.self).reduce(0, +)
                #expect(owned == 0)
                let superuser = try await app.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", logger: logger).decode(Bool.self).reduce(false) { $0 || $1 }
                #expect(!superuser)
            }
        }
    }

    @Test func oneTenantsRolesCannotConnectToAnothersDatabase() async throws {
        try await withProvisioner { provisioner, catalog, server in
            let first = try await provisioner.create(slug: Self.uniqueSlug("one"), hosts: [Self.uniqueSlug("one") + ".example"], catalog: catalog, logger: logger)
            let second = try await provisioner.create(slug: Self.uniqueSlug("two"), hosts: [Self.uniqueSlug("two") + ".example"], catalog: catalog, logger: logger)
            for role in [first.application, first.sequencer, first.owner] {
                // A single connection attempt: a pool would keep retrying the refused login.
                let configuration = server.configuration(role: role, database: second.databaseName)
                let connection = PostgresConnection.Configuration(
                    unixSocketPath: try #require(configuration.unixSocketPath), username: role.name, password: nil, database: second.databaseName
                )
                // The shared test cluster may be at max_connections while the whole suite runs: try again then.
                var state: String?
                for _ in 0..<40 {
                    do {
                        try await PostgresConnection.connect(configuration: connection, id: 1, logger: logger).close()
                        state = nil
                    } catch {
                        state = (error as? PSQLError)?.serverInfo?[.sqlState] ?? String(reflecting: error)
                    }
                    guard state == "53300" else { break }
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(state == "42501", "\(role.name) on \(second.databaseName)")
            }
        }
    }

    @Test func aTakenHostOrSlugIsRefusedAndLeavesNothing() async throws {
        try await withProvisioner { provisioner, catalog, server in
            let slug = Self.uniqueSlug("taken")
            let host = slug + ".example"
            try await provisioner.create(slug: slug, hosts: [host], catalog: catalog, logger: logger)
            await #expect(throws: TenantProvisioningError.alreadyExists(slug: slug)) {
                try await provisioner.create(slug: slug, hosts: ["other-\(host)"], catalog: catalog, logger: logger)
            }
            let other = Self.uniqueSlug("other")
            await #expect(throws: TenantProvisioningError.hostsTaken([host])) {
                try await provisioner.create(slug: other, hosts: [host], catalog: catalog, logger: logger)
            }
            await #expect(throws: TenantName.Invalid.slug("Bad Slug")) {
                try await provisioner.create(slug: "Bad Slug", hosts: ["x.example"], catalog: catalog, logger: logger)
            }
            let leftovers = try await TestPostgres.shared.admin(server) { admin in
                try await admin.query("SELECT count(*) FROM pg_database WHERE datname = \(TenantName.databaseName(slug: other))", logger: logger)
                    .decode(Int.self).reduce(0, +)
            }
            #expect(leftovers == 0)
        }
    }

    @Test func aDatabaseLeftByACrashedCreateIsReplaced() async throws {
        try await withProvisioner { provisioner, catalog, server in
            let slug = Self.uniqueSlug("crash")
            let roles = TenantName.roles(slug: slug)
            try await TestPostgres.shared.admin(server) { admin in
                try await admin.query("CREATE ROLE \(unescaped: roles.owner) LOGIN", logger: logger)
                try await admin.query("CREATE DATABASE \(unescaped: TenantName.databaseName(slug: slug)) OWNER \(unescaped: roles.owner)", logger: logger)
            }
            let record = try await provisioner.create(slug: slug, hosts: [slug + ".example"], catalog: catalog, logger: logger)
            #expect(record.slug == slug)
        }
    }
}
