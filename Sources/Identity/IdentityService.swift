public import Foundation
public import Logging
import PostgresNIO
public import VigilCore
public import VigilStorage

/// One authentication request as the identity service sees it: the tenant, the write context of
/// the request (actor, request and trace ids) and the device it comes from.
public struct AuthCall: Sendable {
    public let tenant: TenantDatabase
    public let writeContext: WriteContext
    let device: ClientDevice
    public let logger: Logger

    public init(tenant: TenantDatabase, writeContext: WriteContext, ip: IPAddress?, userAgent: String?, logger: Logger) {
        self.tenant = tenant
        self.writeContext = writeContext
        device = ClientDevice(ip: ip?.description, userAgent: userAgent, country: ip.flatMap { CountryLookup.shared.country(of: $0) })
        self.logger = logger
    }

    /// The write context with `principal` as its actor (same address, agent, request and trace).
    func context(as population: Population, _ principalID: UUID?, sessionID: UUID? = nil) -> WriteContext {
        var context = writeContext
        guard let principalID else { return context }
        let sameActor = context.actor.kind == population.actorKind && context.actor.id == principalID.uuidString.lowercased()
        context.actor.kind = population.actorKind
        context.actor.id = principalID.uuidString.lowercased()
        // The caller's session belongs to the entry only when the caller is this principal.
        context.actor.sessionID = sessionID?.uuidString.lowercased() ?? (sameActor ? context.actor.sessionID : nil)
        return context
    }
}

/// The access and refresh tokens of a finished login or a refresh (the seed's token response).
public struct TokenResponse: Codable, Sendable, Equatable {
    public let accessToken: String
    public let refreshToken: String
    public var tokenType = "Bearer"
    public let expiresIn: Int
    public let sessionID: String
    /// The session the login closed because the user was at the limit of concurrent sessions.
    public var evictedSessionID: String?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case sessionID = "session_id"
        case evictedSessionID = "evicted_session_id"
    }
}

/// Identity (spec 02): logins, second factors, sessions and tokens for staff and customers.
///
/// Every state change and every authentication event goes through the unit of work. A refused
/// attempt commits its counters, entry and event (nothing else changes) and then answers with
/// its problem; bcrypt runs before any transaction opens, so no connection waits on it.
public struct IdentityService: Sendable {
    public let settings: IdentitySettings
    public let clock: WallClock
    public let passwords: PasswordHasher
    public let tokenKeys: TokenKeys

    public init(settings: IdentitySettings, clock: WallClock = .system) {
        self.settings = settings
        self.clock = clock
        passwords = PasswordHasher(cost: settings.bcryptCost)
        tokenKeys = TokenKeys(accessTokenLifetime: settings.accessTokenLifetime, clock: clock)
    }

    static let sourceService = "identity"

    /// JWT times are whole seconds (RFC 7519 NumericDate as clients expect it).
    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    static func normalisedEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// The throttle of the login identifier `email`: its key is the identifier's digest, the same
    /// for an account that exists and one that does not. (The digest needs the tenant key, which
    /// this process may not have opened yet: another process may have issued the caller's token.)
    func throttle(_ population: Population, email: String, tenant: TenantDatabase, logger: Logger) async throws -> LoginThrottle {
        try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
        let subject = try tenant.keyring.identifierDigest("\(population.rawValue):\(Self.normalisedEmail(email))", database: tenant.databaseName)
        return LoginThrottle(population: population, subject: subject, policy: settings.lockout)
    }

    /// Loads (or makes) the tenant's token keys before a flow that signs tokens opens its unit of
    /// work: making the first key is a unit of work of its own, which must not wait for a pool
    /// connection while the flow's transaction holds one.
    func prepareTokenKeys(_ call: AuthCall) async throws {
        _ = try await tokenKeys.keys(tenant: call.tenant, logger: call.logger)
    }

    /// The credential of `principalID`, read outside any transaction.
    func credential(_ population: Population, principalID: UUID, call: AuthCall) async throws -> Credential? {
        try await call.tenant.client.withConnection { connection in
            try await CredentialStore.find(population, principalID: principalID, lock: false, on: connection, logger: call.logger)
        }
    }

    /// 429 `account-locked` for a lock ending at `until`, counted from now: a parallel request's
    /// lock may have started after this request began.
    func accountLocked(until: Date) -> Problem {
        .accountLocked(retryAfter: LockoutPolicy.retryAfter(until: until, now: clock.now))
    }

    func addressThrottle(_ call: AuthCall) -> AddressThrottle? {
        call.device.ip.map { AddressThrottle(address: $0, policy: settings.lockout) }
    }

    /// Signs an access token for a session.
    func accessToken(
        tenant: TenantDatabase, population: Population, principalID: UUID, sessionID: UUID, amr: [String], authTime: Date, now: Date,
        logger: Logger
    ) async throws -> String {
        let claims = AccessTokenClaims(
            tid: tenant.slug, sub: .init(value: principalID.uuidString.lowercased()), sid: sessionID.uuidString.lowercased(),
            scope: population.rawValue, amr: amr, authTime: Int(authTime.timeIntervalSince1970),
            iat: .init(value: Self.wholeSeconds(now)), exp: .init(value: Self.wholeSeconds(now.addingTimeInterval(settings.accessTokenLifetime)))
        )
        return try await tokenKeys.sign(claims, tenant: tenant, logger: logger)
    }

    /// Completes a login inside `unit`: clears the failure count, opens a session (evicting the
    /// oldest beyond the limit), records it and returns the tokens. The caller holds the
    /// credential's row lock.
    func openSession(
        _ unit: inout UnitOfWork, credential: Credential, amr: [String], throttle: LoginThrottle, call: AuthCall, now: Date
    ) async throws -> TokenResponse {
        try await throttle.reset(on: unit.connection, logger: unit.logger)
        let session = try await SessionStore.create(
            population: credential.population, principalID: credential.principalID, amr: amr, device: call.device, now: now,
            settings: settings, on: unit.connection, logger: unit.logger
        )
        let token = try await accessToken(
            tenant: call.tenant, population: credential.population, principalID: credential.principalID, sessionID: session.sessionID,
            amr: amr, authTime: now, now: now, logger: unit.logger
        )
        try await recordAuthEvent(
            &unit, "auth.login_succeeded", credential.population, credential.principalID, sessionID: session.sessionID,
            details: ["amr": .array(amr.map(JSONValue.string)), "country": call.device.country.map(JSONValue.string)]
        )
        for evicted in session.evicted {
            try await recordAuthEvent(&unit, "session.revoked", credential.population, credential.principalID, sessionID: evicted, reasonCode: "evicted")
        }
        return TokenResponse(
            accessToken: token, refreshToken: session.refreshToken, expiresIn: Int(settings.accessTokenLifetime),
            sessionID: session.sessionID.uuidString.lowercased(), evictedSessionID: session.evicted.last?.uuidString.lowercased()
        )
    }

    /// Records one authentication event: an audit entry about the principal (sealed with the
    /// customer's key for customers) and an outbox event carrying ids and codes only.
    func recordAuthEvent(
        _ unit: inout UnitOfWork, _ action: String, _ population: Population, _ principalID: UUID?, sessionID: UUID? = nil,
        reasonCode: String? = nil, details: [String: JSONValue?] = [:], payload: [String: PayloadValue] = [:]
    ) async throws {
        var recorded = details.compactMapValues { $0 }
        if let sessionID { recorded["session_id"] = .string(sessionID.uuidString.lowercased()) }
        try await unit.record(
            AuditRecord(
                action: action, entityType: population.entityType, entityID: principalID?.uuidString.lowercased(),
                customerID: population == .customer ? principalID : nil, reasonCode: reasonCode,
                details: recorded.isEmpty ? nil : recorded
            )
        )
        var members = payload
        members["principal_type"] = .code(population.entityType)
        if let principalID { members["principal_id"] = .identifier(principalID) }
        if let sessionID { members["session_id"] = .identifier(sessionID) }
        if let reasonCode { members["reason_code"] = .code(reasonCode) }
        try await unit.emit(
            OutboxEvent(aggregateType: population.entityType, aggregateID: principalID?.uuidString.lowercased() ?? "unknown", type: action, payload: members)
        )
    }

    /// Counts a failed attempt (password or code) against the login identifier and the client
    /// address, records it, and records the lockout it causes. Returns the problem to answer:
    /// `refusal`, or `account-locked` when a parallel attempt locked the login first.
    func recordFailure(
        _ unit: inout UnitOfWork, action: String, reasonCode: String, refusal: Problem, population: Population, principalID: UUID?,
        identifier: String?, throttle: LoginThrottle, call: AuthCall, now: Date
    ) async throws -> Problem {
        let failure = try await throttle.recordFailure(now: now, on: unit.connection, logger: unit.logger)
        if let address = addressThrottle(call) { try await address.recordFailure(now: now, on: unit.connection, logger: unit.logger) }
        // A parallel attempt locked the login after this one's first check: it is refused, not counted.
        if let until = failure.lockedUntil, !failure.lockedNow {
            try await recordAuthEvent(&unit, "auth.login_refused", population, principalID, reasonCode: "account_locked", details: ["attempt": .string(reasonCode)])
            return accountLocked(until: until)
        }
        var details: [String: JSONValue?] = ["failure_count": .integer(Int64(failure.failures))]
        if principalID == nil, let identifier { details["identifier"] = .string(try unit.identifierDigest(identifier)) }
        try await recordAuthEvent(
            &unit, action, population, principalID, reasonCode: reasonCode, details: details,
            payload: ["failure_count": .count(Int64(failure.failures))]
        )
        if failure.lockedNow, let until = failure.lockedUntil {
            try await recordAuthEvent(
                &unit, "auth.account_locked", population, principalID, reasonCode: "too_many_failures",
                details: ["lock_expires_at": .string(RFC3339.string(until)), "lockout_count": .integer(Int64(failure.lockouts))],
                payload: ["lock_expires_at": .time(until), "lockout_count": .count(Int64(failure.lockouts))]
            )
        }
        return refusal
    }
}
