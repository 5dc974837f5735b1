/// The logins a domain's demo data creates, written once to `demo-credentials.json` (mode 0600).
public struct DemoCredentials: Codable, Sendable, Equatable {
    public struct Staff: Codable, Sendable, Equatable {
        public let email: String
        public let password: String
        public let role: String
        public let totpSecret: String

        public init(email: String, password: String, role: String, totpSecret: String) {
            self.email = email
            self.password = password
            self.role = role
            self.totpSecret = totpSecret
        }

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

        public init(id: String, email: String, password: String, assignedTo: String?) {
            self.id = id
            self.email = email
            self.password = password
            self.assignedTo = assignedTo
        }

        enum CodingKeys: String, CodingKey {
            case id, email, password
            case assignedTo = "assigned_to"
        }
    }

    public var staff: [Staff]
    public var customers: [Customer]

    public init(staff: [Staff] = [], customers: [Customer] = []) {
        self.staff = staff
        self.customers = customers
    }
}
