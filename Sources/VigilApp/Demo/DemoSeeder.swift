import Foundation
import Logging
import VigilCore
import VigilHTTP
import VigilStorage

/// Creates the `demo` tenant once (deterministically) and writes `demo-credentials.json`.
///
/// Requests to 127.0.0.1 and localhost resolve to the demo tenant. On the first run each domain's
/// demo seed adds its data (identity: one TOTP-enrolled staff user per demo role and ten customers);
/// the logins they return are written once to `demo-credentials.json` (mode 0600).
struct DemoSeeder: Sendable {
    static let tenant = "demo"
    static let hosts = ["localhost", "127.0.0.1"]

    let bootstrap: DatabaseBootstrap
    let configuration: AppConfiguration
    let seeds: [@Sendable (TenantDatabase, Logger) async throws -> DemoCredentials]

    /// The credentials file: the tenant, where it answers, and every domain's demo logins.
    struct CredentialsFile: Codable, Sendable, Equatable {
        let tenant: String
        let baseURL: String
        let staff: [DemoCredentials.Staff]
        let customers: [DemoCredentials.Customer]

        enum CodingKeys: String, CodingKey {
            case tenant
            case baseURL = "base_url"
            case staff, customers
        }
    }

    var credentialsPath: String {
        ClusterLayout.absolutePath(configuration.dataDirectory) + "/demo-credentials.json"
    }

    /// Creates the demo tenant on the first run and records it through the unit of work, so the
    /// demo tenant's trail starts with its own creation and verifies.
    func seed(directory: TenantDirectory, logger: Logger) async throws {
        let provisioner = try bootstrap.provisioner
        let created = try await bootstrap.withCatalog(logger: logger) { catalog -> Bool in
            guard try await catalog.tenant(slug: Self.tenant, logger: logger) == nil else { return false }
            try await provisioner.create(slug: Self.tenant, hosts: Self.hosts, catalog: catalog, logger: logger)
            return true
        }
        let host = ["0.0.0.0", "::", ""].contains(configuration.host) ? "127.0.0.1" : configuration.host
        let baseURL = "http://\(host):\(configuration.port)"
        if created, let tenant = try await directory.tenant(slug: Self.tenant) {
            try await tenant.write(.system("demo"), logger: logger) { unit in
                try await unit.record(
                    AuditRecord(
                        action: "tenant.created", entityType: "tenant", entityID: Self.tenant,
                        details: ["hosts": .array(Self.hosts.map(JSONValue.string))]
                    )
                )
                try await unit.emit(
                    OutboxEvent(aggregateType: "tenant", aggregateID: Self.tenant, type: "tenant.created", payload: ["tenant_id": .identifier(Self.tenant)])
                )
            }
            var credentials = DemoCredentials()
            for seed in seeds {
                let part = try await seed(tenant, logger)
                credentials.staff += part.staff
                credentials.customers += part.customers
            }
            try write(CredentialsFile(tenant: Self.tenant, baseURL: baseURL, staff: credentials.staff, customers: credentials.customers))
        } else if let existing = try? JSONDecoder().decode(CredentialsFile.self, from: Data(contentsOf: URL(fileURLWithPath: credentialsPath))) {
            try write(CredentialsFile(tenant: existing.tenant, baseURL: baseURL, staff: existing.staff, customers: existing.customers))
        } else {
            logger.warning("Demo credentials file is missing; its secrets were shown once and cannot be recovered", metadata: ["path": "\(credentialsPath)"])
        }
        logger.notice("Demo ready", metadata: ["credentials": "\(credentialsPath)"])
    }

    private func write(_ credentials: CredentialsFile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(credentials)
        let path = credentialsPath
        // Created 0600 with its contents; the mode is set again for a file left by an earlier run.
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}
