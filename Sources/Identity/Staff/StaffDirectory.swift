public import Foundation
public import Logging
import PostgresNIO
public import VigilCore
public import VigilStorage

/// A staff user made by `vigil user create`, with the one-time link that sets their password.
public struct CreatedStaffUser: Sendable {
    public let id: UUID
    public let enrolmentToken: String
    public let expiresAt: Date
}

/// Demo and command-line provisioning of logins.
extension IdentityService {
    /// Creates a staff user without a password and returns their enrolment token (`vigil user create`).
    public func createStaffUser(email rawEmail: String, name: String, role: String, tenant: TenantDatabase, context: WriteContext, logger: Logger) async throws -> CreatedStaffUser {
        let email = Self.normalisedEmail(rawEmail)
        guard email.contains("@"), email.count <= 254 else { throw Problem.invalidField("/email", code: "invalid", detail: "An email address is needed.") }
        let now = clock.now
        let id = UUID()
        let token = try await tenant.write(context, logger: logger) { unit in
            try await insertStaff(id: id, email: email, name: name, role: role, passwordHash: nil, now: now, unit: &unit)
            return try await issuePasswordToken(purpose: "enrolment", population: .staff, principalID: id, lifetime: settings.enrolmentLinkLifetime, now: now, unit: &unit)
        }
        return CreatedStaffUser(id: id, enrolmentToken: token, expiresAt: now.addingTimeInterval(settings.enrolmentLinkLifetime))
    }

    /// A demo staff user with a password and TOTP already enrolled on `totpSecret`.
    public func seedStaffUser(
        email: String, name: String, role: String, password: String, totpSecret: TOTPSecret, tenant: TenantDatabase, logger: Logger
    ) async throws -> UUID {
        let hash = try await passwords.hash(password)
        let now = clock.now
        let id = UUID()
        try await tenant.write(.system("demo", sourceService: Self.sourceService), logger: logger) { unit in
            try await insertStaff(id: id, email: email, name: name, role: role, passwordHash: hash, now: now, unit: &unit)
            let sealed = try TenantSecrets.seal(totpSecret.ascii, place: Credential.secretPlace(.staff, id), tenant: tenant)
            try await CredentialStore.enableTOTP(sealedSecret: sealed, step: nil, population: .staff, principalID: id, now: now, on: unit.connection, logger: unit.logger)
            try await recordAuthEvent(&unit, "auth.2fa_enabled", .staff, id)
        }
        return id
    }

    /// Login credentials for a customer (registration itself belongs to the customers module).
    public func seedCustomerCredential(id: UUID, email rawEmail: String, password: String, tenant: TenantDatabase, context: WriteContext, logger: Logger) async throws {
        let email = Self.normalisedEmail(rawEmail)
        let hash = try await newPasswordHash(password, email: email, pointer: "/password")
        let now = clock.now
        try await tenant.write(context, logger: logger) { unit in
            try await CredentialStore.insert(.customer, principalID: id, email: email, passwordHash: hash, now: now, on: unit.connection, logger: unit.logger)
            try await recordAuthEvent(&unit, "auth.credential_created", .customer, id)
        }
    }

    func insertStaff(id: UUID, email: String, name: String, role: String, passwordHash: String?, now: Date, unit: inout UnitOfWork) async throws {
        guard try await StaffStore.insert(id: id, email: email, name: name, role: role, now: now, on: unit.connection, logger: unit.logger) else {
            throw Problem(status: .conflict, slug: "staff-user-exists", title: "A staff user with this email exists")
        }
        try await CredentialStore.insert(.staff, principalID: id, email: email, passwordHash: passwordHash, now: now, on: unit.connection, logger: unit.logger)
        try await unit.record(
            AuditRecord(action: "staff_user.created", entityType: "staff_user", entityID: id.uuidString.lowercased(), after: ["role": .string(role), "status": .string("active")])
        )
        try await unit.emit(
            OutboxEvent(aggregateType: "staff_user", aggregateID: id.uuidString.lowercased(), type: "staff_user.created", payload: ["staff_user_id": .identifier(id), "status": .code("active")])
        )
    }

    /// `GET /api/admin/auth/me`: who the token's session belongs to.
    public func staffProfile(_ authentication: Authentication, tenant: TenantDatabase, logger: Logger) async throws -> StaffProfile {
        let profile = try await tenant.client.withConnection { connection in
            try await StaffStore.profile(authentication.principalID, on: connection, logger: logger)
        }
        guard let profile else { throw Problem.invalidToken("The account no longer exists.") }
        return StaffProfile(
            id: profile.id.uuidString.lowercased(), email: profile.email, name: profile.name, role: profile.role, status: profile.status,
            twoFactorEnabled: profile.twoFactorEnabled, sessionID: authentication.sessionID.uuidString.lowercased(), amr: authentication.methods
        )
    }
}

public struct StaffProfile: Codable, Sendable {
    public let id: String
    public let email: String
    public let name: String
    public let role: String
    public let status: String
    public let twoFactorEnabled: Bool
    public let sessionID: String
    public let amr: [String]

    enum CodingKeys: String, CodingKey {
        case id, email, name, role, status, amr
        case twoFactorEnabled = "two_factor_enabled"
        case sessionID = "session_id"
    }
}
