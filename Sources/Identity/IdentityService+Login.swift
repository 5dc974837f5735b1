public import Foundation
public import Logging
import PostgresNIO
public import VigilCore
import VigilStorage

/// The answer to a password login: tokens, or the second step that is due.
public struct LoginResponse: Encodable, Sendable, Equatable {
    public var mfaRequired: Bool?
    public var mfaToken: String?
    public var mfaEnrollmentRequired: Bool?
    public var enrollmentToken: String?
    public var tokens: TokenResponse?

    enum CodingKeys: String, CodingKey {
        case mfaRequired = "mfa_required"
        case mfaToken = "mfa_token"
        case mfaEnrollmentRequired = "mfa_enrollment_required"
        case enrollmentToken = "enrollment_token"
    }

    init(mfaToken: String) {
        mfaRequired = true
        self.mfaToken = mfaToken
    }

    init(enrollmentToken: String) {
        mfaEnrollmentRequired = true
        self.enrollmentToken = enrollmentToken
    }

    init(tokens: TokenResponse) {
        self.tokens = tokens
    }

    // Tokens are flattened into the top level, as the login contract shows them.
    public func encode(to encoder: any Encoder) throws {
        if let tokens { return try tokens.encode(to: encoder) }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(mfaRequired, forKey: .mfaRequired)
        try container.encodeIfPresent(mfaToken, forKey: .mfaToken)
        try container.encodeIfPresent(mfaEnrollmentRequired, forKey: .mfaEnrollmentRequired)
        try container.encodeIfPresent(enrollmentToken, forKey: .enrollmentToken)
    }
}

extension IdentityService {
    /// `POST …/login {"email","password"}`.
    ///
    /// Locks are checked first; bcrypt then runs outside any transaction (against a decoy hash
    /// when no account matches, so unknown emails take as long). One unit of work then records
    /// the outcome: a failure counted under the throttle row's lock (so parallel guesses are
    /// counted one by one), or the next step of the login.
    public func login(_ population: Population, email rawEmail: String, password: String, call: AuthCall) async throws -> LoginResponse {
        let email = Self.normalisedEmail(rawEmail)
        guard !email.isEmpty, email.count <= 254, !password.isEmpty else {
            throw Problem.invalidField(email.isEmpty ? "/email" : "/password", code: "required", detail: "Email and password are required.")
        }
        let tenant = call.tenant
        try await prepareTokenKeys(call)
        let throttle = try await throttle(population, email: email, tenant: tenant, logger: call.logger)
        let now = clock.now
        let credential = try await tenant.client.withConnection { connection in
            try await CredentialStore.find(population, email: email, on: connection, logger: call.logger)
        }
        try await refuseIfLocked(throttle, population: population, principalID: credential?.principalID, identifier: email, call: call, now: now)
        let matches = try await passwords.verify(password, hash: credential?.passwordHash)
        let failureReason: String? =
            switch (credential, matches) {
            case (nil, _): "unknown_identifier"
            case (let credential?, _) where credential.passwordHash == nil: "no_password_set"
            case (_, false): "wrong_password"
            case (let credential?, true) where credential.disabled: "account_disabled"
            default: nil
            }
        let principalID = credential?.principalID
        let context = call.context(as: population, principalID)
        if let failureReason {
            try await tenant.refuse(
                FailedAttempt(
                    identity: self, action: "auth.login_failed", reasonCode: failureReason, refusal: .invalidCredentials(), population: population,
                    principalID: principalID, identifier: email, throttle: throttle, call: call, now: now
                ),
                context: context, logger: call.logger
            )
        }
        return try await tenant.write(context, logger: call.logger) { unit in
            guard let credential,
                let locked = try await CredentialStore.find(population, principalID: credential.principalID, lock: true, on: unit.connection, logger: unit.logger)
            else { throw Problem.invalidCredentials() }
            // A parallel failure may have locked the login since the check above.
            if let until = try await throttle.lockedUntil(now: now, on: unit.connection, logger: unit.logger) {
                throw AuthRefusal(
                    identity: self, action: "auth.login_refused", population: population, principalID: locked.principalID, reasonCode: "account_locked",
                    problem: accountLocked(until: until)
                )
            }
            if locked.totpEnabled {
                let token = try await createChallenge(.mfa, for: locked, lifetime: settings.mfaTokenLifetime, now: now, unit: &unit)
                try await recordAuthEvent(&unit, "auth.password_verified", population, locked.principalID, reasonCode: "second_factor_due")
                return LoginResponse(mfaToken: token)
            }
            if population == .staff {
                let token = try await createChallenge(.enrollment, for: locked, lifetime: settings.enrollmentTokenLifetime, now: now, unit: &unit)
                try await recordAuthEvent(&unit, "auth.password_verified", population, locked.principalID, reasonCode: "enrollment_required")
                return LoginResponse(enrollmentToken: token)
            }
            return LoginResponse(tokens: try await openSession(&unit, credential: locked, amr: ["pwd"], throttle: throttle, call: call, now: now))
        }
    }

    func createChallenge(_ purpose: ChallengePurpose, for credential: Credential, lifetime: TimeInterval, now: Date, unit: inout UnitOfWork) async throws -> String {
        try await ChallengeStore.create(
            purpose, population: credential.population, principalID: credential.principalID, lifetime: lifetime, now: now, on: unit.connection,
            logger: unit.logger
        )
    }

    /// The principal of a live challenge, its row locked for `unit`'s transaction.
    func lockedChallenge(_ token: String, purpose: ChallengePurpose, population: Population, now: Date, unit: inout UnitOfWork) async throws -> UUID? {
        try await ChallengeStore.live(
            token, purpose: purpose, population: population, maxFailures: settings.maxCodeFailuresPerChallenge, now: now, lock: true,
            on: unit.connection, logger: unit.logger
        )
    }

    /// Whether `token` names a live challenge (read-only: an unknown token writes nothing).
    func challengePrincipal(_ token: String, purpose: ChallengePurpose, population: Population, now: Date, call: AuthCall) async throws -> UUID? {
        try await call.tenant.client.withConnection { connection in
            try await ChallengeStore.live(
                token, purpose: purpose, population: population, maxFailures: settings.maxCodeFailuresPerChallenge, now: now, lock: false,
                on: connection, logger: call.logger
            )
        }
    }
}
