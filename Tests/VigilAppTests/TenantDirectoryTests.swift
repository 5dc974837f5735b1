import Foundation
import PostgresNIO
import ServiceLifecycle
import Testing
import VigilApp
import VigilStorage
import VigilTesting

@Suite struct TenantDirectoryTests {
    @Test func hostsResolveToTenantsAndNewTenantsAreFoundWithoutRestart() async throws {
        let server = try await AppHarness.environment(tenants: ["acme": ["acme.test"]])
        let logger = TestPostgres.logger
        let directory = TenantDirectory(server: server, poolSize: 2, limits: TestPostgres.patientLimits, keyring: Keyring(masterKey: .generate()), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await directory.run() }
            #expect(try await directory.tenant(forHost: "ACME.test:8443")?.slug == "acme")
            #expect(try await directory.tenant(forHost: "nobody.test") == nil)
            #expect(try await directory.tenant(forHost: "[::1]:80") == nil)

            let provisioner = TenantProvisioner(server: server, tenantMigrations: try DatabaseBootstrap.tenantMigrations())
            let slug = "late-\(UUID().uuidString.prefix(6).lowercased().filter { $0.isLetter || $0.isNumber })"
            try await provisioner.create(slug: slug, hosts: ["\(slug).test"], catalog: directory.catalog, logger: logger)
            let late = try #require(try await directory.tenant(forHost: "\(slug).test"))
            #expect(late.slug == slug)
            let user = try await late.client.query("SELECT current_user", logger: logger).decode(String.self).reduce("") { $0 + $1 }
            #expect(user == TenantName.roles(slug: slug).application)
            #expect(await directory.readiness(timeout: .seconds(5), logger: logger).values.allSatisfy { $0 })
            group.cancelAll()
        }
    }
}
