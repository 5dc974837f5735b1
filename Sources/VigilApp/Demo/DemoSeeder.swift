import Foundation
public import Logging
import VigilCore
public import VigilStorage

/// Creates the `demo` tenant once (deterministically) and writes `demo-credentials.json`.
///
/// Requests to 127.0.0.1 and localhost resolve to the demo tenant. The staff and customer lists
/// of the credentials file fill up as identity and customers arrive.
public struct DemoSeeder: Sendable {
    public static let tenant = "demo"
    public static let hosts = ["localhost", "127.0.0.1"]

    public let server: DatabaseServer
    public let configuration: AppConfiguration

    public init(server: DatabaseServer, configuration: AppConfiguration) {
        self.server = server
        self.configuration = configuration
    }

    public struct Credentials: Codable, Sendable, Equatable {
        public struct Staff: Codable, Sendable, Equatable {
            public let email: String
            public let password: String
            public let role: String
            public let totpSecret: String

            enum CodingKeys: String, CodingKey {
                case email, password, role
                case totpSecret = "totp_secret"
            }
        }

        public struct Customer: Codable, Sendable, Equatable {
            public let id: String
            public let email: String
            public let password: String
            public let assignedTo: String?

            enum CodingKeys: String, CodingKey {
                case id, email, password
                case assignedTo = "assigned_to"
            }
        }

        public let tenant: String
        public let baseURL: String
        public let staff: [Staff]
        public let customers: [Customer]

        enum CodingKeys: String, CodingKey {
            case tenant
            case baseURL = "base_url"
            case staff, customers
        }
    }

    public var credentialsPath: String {
        ClusterLayout.absolutePath(configuration.dataDirectory) + "/demo-credentials.json"
    }

    /// Creates the demo tenant on the first run and records it through the unit of work, so the
    /// demo tenant's trail starts with its own creation and verifies.
    public func seed(directory: TenantDirectory, logger: Logger) async throws {
        let bootstrap = DatabaseBootstrap(server: server)
        let provisioner = try bootstrap.provisioner
        let created = try await bootstrap.withCatalog(logger: logger) { catalog -> Bool in
            guard try await catalog.tenant(slug: Self.tenant, logger: logger) == nil else { return false }
            try await provisioner.create(slug: Self.tenant, hosts: Self.hosts, catalog: catalog, logger: logger)
            return true
        }
        if created, let tenant = try await directory.tenant(slug: Self.tenant) {
            try await tenant.write(.system("demo"), logger: logger) { unit in
                try await unit.record(
                    AuditRecord(
                        action: "tenant.created", entityType: "tenant", entityID: Self.tenant,
                        details: ["hosts": .array(Self.hosts.map(JSONValue.string))]
                    )
                )
                try await unit.emit(
                    OutboxEvent(aggregateType: "tenant", aggregateID: Self.tenant, type: "tenant.created", payload: ["tenant_id": .string(Self.tenant)])
                )
            }
        }
        let host = ["0.0.0.0", "::", ""].contains(configuration.host) ? "127.0.0.1" : configuration.host
        let credentials = Credentials(tenant: Self.tenant, baseURL: "http://\(host):\(configuration.port)", staff: [], customers: [])
        try write(credentials)
        logger.notice("Demo ready", metadata: ["credentials": "\(credentialsPath)"])
    }

    private func write(_ credentials: Credentials) throws {
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
