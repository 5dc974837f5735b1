import Foundation
public import Logging
import VigilCore
public import VigilHTTP
public import VigilStorage

/// Identity's demo data: one TOTP-enrolled staff user per demo role and ten customers with
/// passwords, each with fresh random secrets, returned for the demo credentials file.
struct IdentityDemo: Sendable {
    static let roles = ["admin", "compliance", "manager", "agent", "support", "ib"]
    static let customerCount = 10

    let identity: IdentityService

    func seed(tenant: TenantDatabase, logger: Logger) async throws -> DemoCredentials {
        var credentials = DemoCredentials()
        for role in Self.roles {
            let email = "\(role)@demo.vigil.test"
            let password = Self.randomPassword()
            let secret = TOTPSecret.generate()
            _ = try await identity.seedStaffUser(
                email: email, name: "Demo \(role.capitalized)", role: role, password: password, totpSecret: secret, tenant: tenant, logger: logger
            )
            credentials.staff.append(.init(email: email, password: password, role: role, totpSecret: secret.base32))
        }
        for number in 1...Self.customerCount {
            let id = UUID()
            let email = "customer\(number < 10 ? "0" : "")\(number)@demo.vigil.test"
            let password = Self.randomPassword()
            try await identity.seedCustomerCredential(
                id: id, email: email, password: password, tenant: tenant, context: .system("demo", sourceService: IdentityService.sourceService), logger: logger
            )
            credentials.customers.append(.init(id: id.uuidString.lowercased(), email: email, password: password, assignedTo: nil))
        }
        return credentials
    }

    /// 20 characters from letters and digits: well past the policy's 12, and easy to paste.
    static func randomPassword() -> String {
        RandomText.make(length: 20, from: "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
    }
}
