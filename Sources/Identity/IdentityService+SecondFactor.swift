public import Foundation
public import Logging
import PostgresNIO
public import VigilCore
public import VigilStorage

/// `POST …/2fa/setup`: what an authenticator app needs.
public struct SecondFactorSetup: Codable, Sendable {
    public let secret: String
    public let otpauthURI: String
    public let qrSVG: String

    enum CodingKeys: String, CodingKey {
        case secret
        case otpauthURI = "otpauth_uri"
        case qrSVG = "qr_svg"
    }
}

/// `POST …/2fa/verify`: the seed's body, plus tokens when it finished an enrolment login.
public struct SecondFactorEnabled: Encodable, Sendable {
    public var enabled = true
    public let backupCodes: [String]
    public var message = "2FA enabled. Save backup codes."
    public var tokens: TokenResponse?

    enum CodingKeys: String, CodingKey {
        case enabled, message
        case backupCodes = "backup_codes"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(backupCodes, forKey: .backupCodes)
        try container.encode(message, forKey: .message)
        try tokens?.encode(to: encoder)
    }

    init(backupCodes: [String], tokens: TokenResponse?) {
        self.backupCodes = backupCodes
        self.tokens = tokens
    }
}

public struct StepUpResponse: Codable, Sendable {
    public let stepUpExpiresAt: Date

    enum CodingKeys: String, CodingKey {
        case stepUpExpiresAt = "step_up_expires_at"
    }
}

/// Who is enrolling a second factor: the holder of an enrolment token (a staff user's first
/// login), or a logged-in principal.
public enum Enroller: Sendable {
    case enrollmentToken(String)
    case session(Authentication)
}

enum CodeCheck {
    case accepted(reason: String)
    case rejected(reason: String)
}

extension IdentityService {
    /// The issuer shown in authenticator apps.
    static let issuer = "Vigil"

    /// Checks a TOTP code (±1 step, never a step already used) or an unused backup code, under the
    /// credential's row lock held by `unit`; an accepted code is marked used in the same unit.
    func checkCode(_ rawCode: String, credential: Credential, now: Date, tenant: TenantDatabase, unit: inout UnitOfWork) async throws -> CodeCheck {
        let code = rawCode.trimmingCharacters(in: .whitespaces)
        guard credential.totpEnabled, let sealed = credential.sealedTOTPSecret else { return .rejected(reason: "no_second_factor") }
        if code.count == 6, code.allSatisfy(\.isASCIIDigit) {
            let secret = TOTPSecret(
                ascii: try await TenantSecrets.open(sealed, place: credential.secretPlace, tenant: tenant, connection: unit.connection, logger: unit.logger)
            )
            if let step = TOTPCode.acceptedStep(for: code, secret: secret, at: now, lastUsedStep: credential.totpLastStep) {
                try await CredentialStore.recordTOTPStep(
                    step, population: credential.population, principalID: credential.principalID, on: unit.connection, logger: unit.logger
                )
                return .accepted(reason: "totp")
            }
            let replayed = TOTPCode.acceptedStep(for: code, secret: secret, at: now, lastUsedStep: nil) != nil
            return .rejected(reason: replayed ? "replayed_code" : "wrong_code")
        }
        let backup = BackupCodes.normalised(code)
        guard BackupCodes.looksLikeCode(backup) else { return .rejected(reason: "wrong_code") }
        let tenantKey = try tenant.keyring.tenantKey(database: tenant.databaseName)
        let hash = BackupCodes.hash(backup, principalID: credential.principalID, tenantKey: tenantKey.key)
        if try await BackupCodeStore.use(hash, population: credential.population, principalID: credential.principalID, now: now, on: unit.connection, logger: unit.logger) {
            return .accepted(reason: "backup_code")
        }
        let spent = try await BackupCodeStore.isSpent(hash, population: credential.population, principalID: credential.principalID, on: unit.connection, logger: unit.logger)
        return .rejected(reason: spent ? "used_backup_code" : "wrong_code")
    }

    /// `POST …/login/2fa {"mfa_token","code"}`: finishes a login with a TOTP or backup code.
    /// A wrong code counts against the token (void after five) and the login's lockout.
    public func loginSecondFactor(_ population: Population, mfaToken: String, code: String, call: AuthCall) async throws -> TokenResponse {
        let now = clock.now
        guard let principalID = try await challengePrincipal(mfaToken, purpose: .mfa, population: population, now: now, call: call),
            let credential = try await credential(population, principalID: principalID, call: call)
        else { throw Problem.invalidMFAToken() }
        let throttle = try await throttle(population, email: credential.email, tenant: call.tenant, logger: call.logger)
        try await refuseIfLocked(throttle, population: population, principalID: principalID, call: call, now: now)
        try await prepareTokenKeys(call)
        return try await call.tenant.write(call.context(as: population, principalID), logger: call.logger) { unit in
            guard try await lockedChallenge(mfaToken, purpose: .mfa, population: population, now: now, unit: &unit) == principalID,
                let locked = try await CredentialStore.find(population, principalID: principalID, lock: true, on: unit.connection, logger: unit.logger)
            else { throw Problem.invalidMFAToken() }
            // A wrong code is counted against the token before its lock is released.
            try await unit.holdLocksForRefusal()
            switch try await checkCode(code, credential: locked, now: now, tenant: call.tenant, unit: &unit) {
            case .rejected(let reason):
                throw FailedAttempt(
                    identity: self, action: "auth.second_factor_failed", reasonCode: reason, refusal: .invalidCode(), population: population,
                    principalID: principalID, challengeToken: mfaToken, throttle: throttle, call: call, now: now
                )
            case .accepted(let method):
                try await ChallengeStore.consume(mfaToken, now: now, on: unit.connection, logger: unit.logger)
                try await recordAuthEvent(&unit, "auth.second_factor_verified", population, principalID, reasonCode: method)
                return try await openSession(&unit, credential: locked, amr: ["pwd", "otp"], throttle: throttle, call: call, now: now)
            }
        }
    }

    /// The principal an enrolment call acts for: an unknown enrolment token or another
    /// population's session is refused.
    func enrollingPrincipal(_ enroller: Enroller, population: Population, now: Date, call: AuthCall) async throws -> UUID {
        switch enroller {
        case .enrollmentToken(let token):
            guard population == .staff, let principal = try await challengePrincipal(token, purpose: .enrollment, population: population, now: now, call: call)
            else { throw Problem.invalidToken("The enrolment token is unknown, used or expired; log in again.") }
            return principal
        case .session(let authentication):
            guard authentication.scope == population.rawValue else { throw Problem.wrongScope(expected: population.rawValue) }
            return authentication.principalID
        }
    }

    /// `POST …/2fa/setup`: a new secret, pending until a code from it is verified.
    public func setupSecondFactor(_ population: Population, enroller: Enroller, call: AuthCall) async throws -> SecondFactorSetup {
        let now = clock.now
        let principalID = try await enrollingPrincipal(enroller, population: population, now: now, call: call)
        let secret = TOTPSecret.generate()
        return try await call.tenant.write(call.context(as: population, principalID), logger: call.logger) { unit in
            guard let credential = try await CredentialStore.find(population, principalID: principalID, lock: true, on: unit.connection, logger: unit.logger)
            else { throw Problem.invalidToken("The account no longer exists.") }
            guard !credential.totpEnabled else { throw Problem.secondFactorConflict("Two-factor authentication is already enabled") }
            let sealed = try TenantSecrets.seal(secret.ascii, place: credential.pendingSecretPlace, tenant: call.tenant)
            try await CredentialStore.storePendingSecret(sealed, population: population, principalID: principalID, on: unit.connection, logger: unit.logger)
            try await recordAuthEvent(&unit, "auth.2fa_setup_started", population, principalID)
            let uri = secret.provisioningURI(account: credential.email, issuer: Self.issuer)
            return SecondFactorSetup(secret: secret.base32, otpauthURI: uri, qrSVG: QRCodeSVG.render(uri) ?? "")
        }
    }

    /// `POST …/2fa/verify {"code"}`: a code of the pending secret enables 2FA and answers ten
    /// backup codes, shown this once; an enrolment login also gets its tokens.
    public func verifySecondFactor(_ population: Population, enroller: Enroller, code: String, call: AuthCall) async throws -> SecondFactorEnabled {
        let now = clock.now
        let principalID = try await enrollingPrincipal(enroller, population: population, now: now, call: call)
        try await prepareTokenKeys(call)
        let codes = BackupCodes.generate()
        return try await call.tenant.write(call.context(as: population, principalID), logger: call.logger) { unit in
            guard let credential = try await CredentialStore.find(population, principalID: principalID, lock: true, on: unit.connection, logger: unit.logger)
            else { throw Problem.invalidToken("The account no longer exists.") }
            guard !credential.totpEnabled else { throw Problem.secondFactorConflict("Two-factor authentication is already enabled") }
            guard let pending = credential.sealedPendingSecret else {
                throw Problem.secondFactorConflict("No setup is pending: call the setup route first")
            }
            let ascii = try await TenantSecrets.open(pending, place: credential.pendingSecretPlace, tenant: call.tenant, connection: unit.connection, logger: unit.logger)
            let trimmed = code.trimmingCharacters(in: .whitespaces)
            // Nothing is counted here: the caller already holds the account and is proving the new secret works.
            guard let step = TOTPCode.acceptedStep(for: trimmed, secret: TOTPSecret(ascii: ascii), at: now, lastUsedStep: nil) else {
                throw Problem.invalidCode()
            }
            let sealed = try TenantSecrets.seal(ascii, place: credential.secretPlace, tenant: call.tenant)
            try await CredentialStore.enableTOTP(
                sealedSecret: sealed, step: step, population: population, principalID: principalID, now: now, on: unit.connection, logger: unit.logger
            )
            try await replaceBackupCodes(codes, credential: credential, now: now, tenant: call.tenant, unit: &unit)
            try await recordAuthEvent(&unit, "auth.2fa_enabled", population, principalID, payload: ["count": .count(Int64(codes.count))])
            var tokens: TokenResponse?
            if case .session(let authentication) = enroller {
                // A code of the new secret was just verified in this session.
                try await SessionStore.markSecondFactor(authentication.sessionID, now: now, on: unit.connection, logger: unit.logger)
            }
            if case .enrollmentToken(let token) = enroller {
                try await ChallengeStore.consume(token, now: now, on: unit.connection, logger: unit.logger)
                let throttle = try await throttle(population, email: credential.email, tenant: call.tenant, logger: unit.logger)
                tokens = try await openSession(&unit, credential: credential, amr: ["pwd", "otp"], throttle: throttle, call: call, now: now)
            }
            return SecondFactorEnabled(backupCodes: codes, tokens: tokens)
        }
    }

    func replaceBackupCodes(_ codes: [String], credential: Credential, now: Date, tenant: TenantDatabase, unit: inout UnitOfWork) async throws {
        let key = try tenant.keyring.tenantKey(database: tenant.databaseName).key
        let hashes = codes.map { BackupCodes.hash($0, principalID: credential.principalID, tenantKey: key) }
        try await BackupCodeStore.replace(
            hashes, population: credential.population, principalID: credential.principalID, now: now, on: unit.connection, logger: unit.logger
        )
    }

    /// Refuses a sensitive action unless a second factor was verified in this session within the
    /// step-up window (read from the session row by the authentication middleware).
    public func requireStepUp(_ authentication: Authentication) throws {
        guard let verified = authentication.secondFactorAt, clock.now.timeIntervalSince(verified) <= settings.stepUpWindow else {
            throw Problem.stepUpRequired(window: settings.stepUpWindow)
        }
    }

    /// `POST …/2fa/disable {"code"}`: switches off the caller's own second factor. Staff may not
    /// (403 `second-factor-required`, before anything is read). A customer gives a code checked now,
    /// a TOTP code or an unused backup code, under the credential's row lock; a wrong one counts
    /// toward the lockout like a wrong step-up code. A recent step-up alone is not enough.
    public func disableSecondFactor(_ population: Population, authentication: Authentication, code: String, call: AuthCall) async throws -> [String: Bool] {
        try Self.requireOwnSecondFactorDisablable(population)
        let now = clock.now
        guard let credential = try await credential(population, principalID: authentication.principalID, call: call) else {
            throw Problem.invalidToken("The account no longer exists.")
        }
        guard credential.totpEnabled else { throw Problem.secondFactorConflict("Two-factor authentication is not enabled") }
        let throttle = try await throttle(population, email: credential.email, tenant: call.tenant, logger: call.logger)
        try await refuseIfLocked(throttle, population: population, principalID: authentication.principalID, call: call, now: now)
        let context = call.context(as: population, authentication.principalID, sessionID: authentication.sessionID)
        return try await call.tenant.write(context, logger: call.logger) { unit in
            guard let locked = try await CredentialStore.find(population, principalID: authentication.principalID, lock: true, on: unit.connection, logger: unit.logger),
                locked.totpEnabled
            else { throw Problem.secondFactorConflict("Two-factor authentication is not enabled") }
            try await unit.holdLocksForRefusal()
            switch try await checkCode(code, credential: locked, now: now, tenant: call.tenant, unit: &unit) {
            case .rejected(let reason):
                throw FailedAttempt(
                    identity: self, action: "auth.2fa_disable_failed", reasonCode: reason, refusal: .invalidCode(), population: population,
                    principalID: authentication.principalID, throttle: throttle, call: call, now: now
                )
            case .accepted(let method):
                try await CredentialStore.disableTOTP(population: population, principalID: authentication.principalID, on: unit.connection, logger: unit.logger)
                try await BackupCodeStore.deleteAll(population: population, principalID: authentication.principalID, on: unit.connection, logger: unit.logger)
                try await recordAuthEvent(&unit, "auth.2fa_disabled", population, authentication.principalID, sessionID: authentication.sessionID, reasonCode: method)
                return ["enabled": false]
            }
        }
    }

    /// Throws 403 `second-factor-required` for a population that may not switch off its own
    /// second factor (``OwnSecondFactorDisabling``).
    static func requireOwnSecondFactorDisablable(_ population: Population) throws {
        if OwnSecondFactorDisabling.rule(for: population) == .refused { throw Problem.secondFactorRequired() }
    }

    /// `POST …/step-up {"code"}`: marks the session as having verified a second factor now.
    public func stepUp(_ population: Population, authentication: Authentication, code: String, call: AuthCall) async throws -> StepUpResponse {
        let now = clock.now
        guard let credential = try await credential(population, principalID: authentication.principalID, call: call) else {
            throw Problem.invalidToken("The account no longer exists.")
        }
        // Nothing to verify yet is no failed attempt: it does not count toward the lockout.
        guard credential.totpEnabled else { throw Problem.secondFactorConflict("Two-factor authentication is not enabled: set it up first") }
        let throttle = try await throttle(population, email: credential.email, tenant: call.tenant, logger: call.logger)
        try await refuseIfLocked(throttle, population: population, principalID: authentication.principalID, call: call, now: now)
        let context = call.context(as: population, authentication.principalID, sessionID: authentication.sessionID)
        return try await call.tenant.write(context, logger: call.logger) { unit in
            guard let locked = try await CredentialStore.find(population, principalID: authentication.principalID, lock: true, on: unit.connection, logger: unit.logger)
            else { throw Problem.invalidToken("The account no longer exists.") }
            try await unit.holdLocksForRefusal()
            switch try await checkCode(code, credential: locked, now: now, tenant: call.tenant, unit: &unit) {
            case .rejected(let reason):
                throw FailedAttempt(
                    identity: self, action: "auth.step_up_failed", reasonCode: reason, refusal: .invalidCode(), population: population,
                    principalID: authentication.principalID, throttle: throttle, call: call, now: now
                )
            case .accepted(let method):
                try await SessionStore.markSteppedUp(authentication.sessionID, now: now, on: unit.connection, logger: unit.logger)
                try await recordAuthEvent(&unit, "auth.step_up", population, authentication.principalID, sessionID: authentication.sessionID, reasonCode: method)
                return StepUpResponse(stepUpExpiresAt: now.addingTimeInterval(settings.stepUpWindow))
            }
        }
    }
}
