import Foundation
import VigilCore
import VigilStorage

/// A failed attempt (a wrong password or code) as a recorded refusal: counted against the login
/// and the client address (and, for a second-factor code, against its `mfa_token`), with its
/// entry and event, and the lockout it causes. It answers `refusal`, or `account-locked` when a
/// parallel attempt locked the login first.
struct FailedAttempt: RecordedRefusal {
    let identity: IdentityService
    let action: String
    let reasonCode: String
    let refusal: Problem
    let population: Population
    let principalID: UUID?
    /// The login identifier of an attempt that matched no account, kept as a keyed digest.
    var identifier: String?
    /// The `mfa_token` the wrong code was sent with; five failures void it.
    var challengeToken: String?
    let throttle: LoginThrottle
    let call: AuthCall
    let now: Date

    func record(in unit: inout UnitOfWork) async throws -> Problem {
        if let challengeToken { try await ChallengeStore.countFailure(challengeToken, on: unit.connection, logger: unit.logger) }
        return try await identity.recordFailure(
            &unit, action: action, reasonCode: reasonCode, refusal: refusal, population: population, principalID: principalID,
            identifier: identifier, throttle: throttle, call: call, now: now
        )
    }
}

/// A refusal that counts nothing: a locked login, a blocked address, a spent refresh token. It
/// records its entry and event (and, for a reused refresh token, revokes the token's session).
struct AuthRefusal: RecordedRefusal {
    let identity: IdentityService
    let action: String
    let population: Population
    let principalID: UUID?
    var sessionID: UUID?
    let reasonCode: String
    var details: [String: JSONValue?] = [:]
    let problem: Problem
    /// A session to end with the refusal (the whole family of a reused refresh token).
    var revokeSession: (id: UUID, reason: String, now: Date)?

    func record(in unit: inout UnitOfWork) async throws -> Problem {
        if let revokeSession {
            try await SessionStore.revoke(revokeSession.id, reason: revokeSession.reason, now: revokeSession.now, on: unit.connection, logger: unit.logger)
        }
        try await identity.recordAuthEvent(
            &unit, action, population, principalID, sessionID: sessionID, reasonCode: reasonCode, details: details
        )
        return problem
    }
}
