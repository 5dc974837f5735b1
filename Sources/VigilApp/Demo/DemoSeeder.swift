import Foundation
import Identity
public import Logging
import VigilCore
public import VigilStorage

/// Creates the `demo` tenant once (deterministically) and writes `demo-credentials.json`.
///
/// Requests to 127.0.0.1 and localhost resolve to the demo tenant. On the first run it also makes
/// one staff user per demo role, each enrolled in TOTP, and ten customers with passwords; their
/// passwords and TOTP secrets (base32) are written once to `demo-credentials.json` (mode 0600).
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
        let baseURL = "http://\(host):\(configuration.port)"
        if created, let tenant = try await directory.tenant(slug: Self.tenant) {
            let (staff, customers) = try await seedPeople(tenant: tenant, logger: logger)
            try write(Credentials(tenant: Self.tenant, baseURL: baseURL, staff: staff, customers: customers))
        } else if let existing = try? JSONDecoder().decode(Credentials.self, from: Data(contentsOf: URL(fileURLWithPath: credentialsPath))) {
            try write(Credentials(tenant: existing.tenant, baseURL: baseURL, staff: existing.staff, customers: existing.customers))
        } else {
            logger.warning("Demo credentials file is missing; its secrets were shown once and cannot be recovered", metadata: ["path": "\(credentialsPath)"])
        }
        logger.notice("Demo ready", metadata: ["credentials": "\(credentialsPath)"])
    }

    static let customerCount = 10

    /// One TOTP-enrolled staff user per demo role and ten customers, with fresh random secrets.
    private func seedPeople(tenant: TenantDatabase, logger: Logger) async throws -> ([Credentials.Staff], [Credentials.Customer]) {
        let identity = IdentityService(settings: configuration.identitySettings)
        var staff: [Credentials.Staff] = []
        for role in IdentityService.demoRoles {
            let email = "\(role)@demo.vigil.test"
            let password = Self.randomPassword()
            let secret = TOTPSecret.generate()
            _ = try await identity.seedStaffUser(
                email: email, name: "Demo \(role.capitalized)", role: role, password: password, totpSecret: secret, tenant: tenant, logger: logger
            )
            staff.append(Credentials.Staff(email: email, password: password, role: role, totpSecret: secret.base32))
        }
        var customers: [Credentials.Customer] = []
        for number in 1...Self.customerCount {
            let id = UUID()
            let email = "customer\(number < 10 ? "0" : "")\(number)@demo.vigil.test"
            let password = Self.randomPassword()
            try await identity.seedCustomerCredential(
                id: id, email: email, password: password, tenant: tenant, context: .system("demo", sourceService: "identity"), logger: logger
            )
            customers.append(Credentials.Customer(id: id.uuidString.lowercased(), email: email, password: password, assignedTo: nil))
        }
        return (staff, customers)
    }

    /// 20 characters from letters and digits: well past the policy's 12, and easy to paste.
    static func randomPassword() -> String {
        RandomText.make(length: 20, from: "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
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
