public import Foundation
public import Logging
import PostgresNIO
public import VigilCore
public import VigilStorage

extension IdentityService {
    /// The policy check and hash of a new password (bcrypt on the thread pool, outside any transaction).
    func newPasswordHash(_ password: String, email: String, pointer: String) async throws -> String {
        if let violation = PasswordPolicy.violation(password: password, email: email) {
            throw Problem.passwordRejected(violation, pointer: pointer)
        }
        return try await passwords.hash(password)
    }

    /// `POST …/password {"current_password","new_password"}`: changes my password and ends my
    /// other sessions. A wrong current password counts like a failed login.
    public func changePassword(
        _ population: Population, authentication: Authentication, current: String, new: String, call: AuthCall
    ) async throws {
        let now = clock.now
        guard let credential = try await credential(population, principalID: authentication.principalID, call: call) else {
            throw Problem.invalidToken("The account no longer exists.")
        }
        let throttle = try await throttle(population, email: credential.email, tenant: call.tenant, logger: call.logger)
        let context = call.context(as: population, authentication.principalID, sessionID: authentication.sessionID)
        try await refuseIfLocked(throttle, population: population, principalID: authentication.principalID, call: call, now: now)
        guard try await passwords.verify(current, hash: credential.passwordHash) else {
            try await call.tenant.refuse(
                FailedAttempt(
                    identity: self, action: "auth.password_change_failed", reasonCode: "wrong_password", refusal: .invalidCredentials(),
                    population: population, principalID: authentication.principalID, throttle: throttle, call: call, now: now
                ),
                context: context, logger: call.logger
            )
        }
        let hash = try await newPasswordHash(new, email: credential.email, pointer: "/new_password")
        try await call.tenant.write(context, logger: call.logger) { unit in
            try await storePassword(hash, population: population, principalID: authentication.principalID, now: now, unit: &unit)
            let others = try await SessionStore.liveIDs(population: population, principalID: authentication.principalID, now: now, on: unit.connection, logger: unit.logger)
                .filter { $0 != authentication.sessionID }
            for id in others { try await SessionStore.revoke(id, reason: "password_changed", now: now, on: unit.connection, logger: unit.logger) }
            try await recordAuthEvent(
                &unit, "auth.password_changed", population, authentication.principalID, sessionID: authentication.sessionID,
                payload: ["count": .count(Int64(others.count))]
            )
        }
    }

    /// `POST …/password/set {"token","password"}`: sets a password through a single-use link (the
    /// enrolment link of a new user, or a reset), ending every session of the account.
    public func setPassword(_ population: Population, token: String, password: String, call: AuthCall) async throws {
        let now = clock.now
        let found = try await call.tenant.client.withConnection { connection in
            try await PasswordTokenStore.live(token, population: population, now: now, on: connection, logger: call.logger)
        }
        guard let found else { throw Problem.invalidPasswordToken() }
        let hash = try await newPasswordHash(password, email: found.email, pointer: "/password")
        try await call.tenant.write(call.context(as: population, found.principalID), logger: call.logger) { unit in
            guard try await PasswordTokenStore.spend(token, now: now, on: unit.connection, logger: unit.logger) else { throw Problem.invalidPasswordToken() }
            try await storePassword(hash, population: population, principalID: found.principalID, now: now, unit: &unit)
            for id in try await SessionStore.liveIDs(population: population, principalID: found.principalID, now: now, on: unit.connection, logger: unit.logger) {
                try await SessionStore.revoke(id, reason: "password_set", now: now, on: unit.connection, logger: unit.logger)
            }
            try await recordAuthEvent(&unit, "auth.password_set", population, found.principalID, reasonCode: found.purpose)
        }
    }

    func storePassword(_ hash: String, population: Population, principalID: UUID, now: Date, unit: inout UnitOfWork) async throws {
        try await CredentialStore.storePassword(hash, population: population, principalID: principalID, now: now, on: unit.connection, logger: unit.logger)
    }

    /// A single-use password link for the principal, valid for `lifetime`.
    func issuePasswordToken(purpose: String, population: Population, principalID: UUID, lifetime: TimeInterval, now: Date, unit: inout UnitOfWork) async throws -> String {
        try await PasswordTokenStore.issue(
            purpose: purpose, population: population, principalID: principalID, lifetime: lifetime, now: now, on: unit.connection, logger: unit.logger
        )
    }
}
