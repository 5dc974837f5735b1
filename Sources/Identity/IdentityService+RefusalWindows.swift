import Foundation
public import Logging
import PostgresNIO
import VigilCore
public import VigilStorage

/// The count of a refusal window was recorded by a parallel attempt or by housekeeping first.
private struct RefusalCountAlreadyRecorded: Error {}

extension IdentityService {
    /// Windows one housekeeping run records at most; the next run takes the rest.
    static let refusalWindowsPerRun = 500

    /// Refuses an attempt on a locked login or from a blocked address, before any password or
    /// code is checked (decision 0014). The first refusal of a lock's window is recorded in full;
    /// every later one only adds one to the throttle row's count and is answered at once, so a
    /// caller repeating a refused attempt cannot make the database grow. `identifier` is the login
    /// identifier of an attempt that matched no account.
    func refuseIfLocked(
        _ throttle: LoginThrottle, population: Population, principalID: UUID?, identifier: String? = nil, call: AuthCall, now: Date
    ) async throws {
        let address = addressThrottle(call)
        try await recordEndedRefusalWindows(of: throttle, address: address, call: call, now: now)
        var identifierDigest: String?
        if principalID == nil, let identifier { identifierDigest = try call.tenant.keyring.identifierDigest(identifier, database: call.tenant.databaseName) }
        let refusal: (counted: CountedRefusal, problem: Problem, reason: String)? = try await call.tenant.client.withConnection { connection in
            if let counted = try await throttle.countRefusalIfLocked(
                now: now, principalID: principalID, identifier: identifierDigest, on: connection, logger: call.logger
            ) {
                return (counted, accountLocked(until: counted.lockedUntil), "account_locked")
            }
            if let address, let counted = try await address.countRefusalIfBlocked(now: now, on: connection, logger: call.logger) {
                return (counted, .addressBlocked(retryAfter: LockoutPolicy.retryAfter(until: counted.lockedUntil, now: now)), "address_blocked")
            }
            return nil
        }
        guard let refusal else { return }
        guard RefusalWindow.recording(ofRefusal: refusal.counted.number) == .inFull else { throw refusal.problem }
        var details: [String: JSONValue?] = ["lock_expires_at": .string(RFC3339.string(refusal.counted.lockedUntil))]
        if let identifierDigest { details["identifier"] = .string(identifierDigest) }
        try await call.tenant.refuse(
            AuthRefusal(
                identity: self, action: "auth.login_refused", population: population, principalID: principalID, reasonCode: refusal.reason,
                details: details, problem: refusal.problem
            ),
            context: call.context(as: population, principalID), logger: call.logger
        )
    }

    /// Records the count of this login's and this address's refusal windows if they have ended:
    /// the first attempt after a window closes it. Housekeeping closes the windows no attempt
    /// comes back to (``recordEndedRefusalWindows(tenant:logger:)``).
    func recordEndedRefusalWindows(of throttle: LoginThrottle, address: AddressThrottle?, call: AuthCall, now: Date) async throws {
        let due: (login: Bool, address: Bool) = try await call.tenant.client.withConnection { connection in
            let login = try await throttle.refusalWindow(lock: false, on: connection, logger: call.logger)
            let blocked = try await address?.refusalWindow(lock: false, on: connection, logger: call.logger)
            return (login?.window.countDue(now: now) == true, blocked?.countDue(now: now) == true)
        }
        if due.login { try await recordRefusalCount(of: throttle, tenant: call.tenant, now: now, logger: call.logger) }
        if due.address, let address { try await recordRefusalCount(of: address, tenant: call.tenant, now: now, logger: call.logger) }
    }

    /// Housekeeping (decision 0014): records the count of every refusal window of the tenant
    /// that has ended, up to ``refusalWindowsPerRun`` per call, and returns how many it recorded.
    /// Identity declares it as a periodic job; until a jobs runner runs it, each window is closed
    /// by the first attempt on its login or from its address after it ends.
    public func recordEndedRefusalWindows(tenant: TenantDatabase, logger: Logger) async throws -> Int {
        let now = clock.now
        let policy = settings.lockout
        let limit = Self.refusalWindowsPerRun
        let due: (logins: [LoginThrottle], addresses: [AddressThrottle]) = try await tenant.client.withConnection { connection in
            (
                try await LoginThrottle.windowsDue(now: now, limit: limit, policy: policy, on: connection, logger: logger),
                try await AddressThrottle.windowsDue(now: now, limit: limit, policy: policy, on: connection, logger: logger)
            )
        }
        var recorded = 0
        for throttle in due.logins {
            if try await recordRefusalCount(of: throttle, tenant: tenant, now: now, logger: logger) { recorded += 1 }
        }
        for address in due.addresses {
            if try await recordRefusalCount(of: address, tenant: tenant, now: now, logger: logger) { recorded += 1 }
        }
        return recorded
    }

    /// The actor of a window's count: the system, since the count is about attempts other callers made.
    static var refusalCountContext: WriteContext { .system(sourceService) }

    /// Records a login's ended window as one `auth.refusals_counted` entry and event about its
    /// principal, and clears it. False when it was recorded by someone else first.
    @discardableResult
    func recordRefusalCount(of throttle: LoginThrottle, tenant: TenantDatabase, now: Date, logger: Logger) async throws -> Bool {
        do {
            try await tenant.write(Self.refusalCountContext, logger: logger) { unit in
                guard let found = try await throttle.refusalWindow(lock: true, on: unit.connection, logger: unit.logger), found.window.countDue(now: now)
                else { throw RefusalCountAlreadyRecorded() }
                try await throttle.clearRefusalWindow(on: unit.connection, logger: unit.logger)
                var details = Self.countDetails(found.window)
                if found.principalID == nil, let identifier = found.identifier { details["identifier"] = .string(identifier) }
                try await recordAuthEvent(
                    &unit, "auth.refusals_counted", throttle.population, found.principalID, reasonCode: "account_locked", details: details,
                    payload: Self.countPayload(found.window)
                )
            }
            return true
        } catch is RefusalCountAlreadyRecorded {
            return false
        }
    }

    /// Records an address's ended window as one `auth.refusals_counted` entry about the address
    /// (the event names it by its keyed digest only), and clears it. False when it was recorded
    /// by someone else first.
    @discardableResult
    func recordRefusalCount(of address: AddressThrottle, tenant: TenantDatabase, now: Date, logger: Logger) async throws -> Bool {
        do {
            try await tenant.write(Self.refusalCountContext, logger: logger) { unit in
                guard let window = try await address.refusalWindow(lock: true, on: unit.connection, logger: unit.logger), window.countDue(now: now)
                else { throw RefusalCountAlreadyRecorded() }
                try await address.clearRefusalWindow(on: unit.connection, logger: unit.logger)
                try await unit.record(
                    AuditRecord(
                        action: "auth.refusals_counted", entityType: Self.clientAddressEntity, entityID: address.address, reasonCode: "address_blocked",
                        details: Self.countDetails(window)
                    )
                )
                var payload = Self.countPayload(window)
                payload["reason_code"] = .code("address_blocked")
                try await unit.emit(
                    OutboxEvent(
                        aggregateType: Self.clientAddressEntity, aggregateID: try unit.identifierDigest(address.address), type: "auth.refusals_counted",
                        payload: payload
                    )
                )
            }
            return true
        } catch is RefusalCountAlreadyRecorded {
            return false
        }
    }

    static let clientAddressEntity = "client_address"

    static func countDetails(_ window: RefusalWindow) -> [String: JSONValue] {
        [
            "refused_count": .integer(Int64(window.refusals)), "first_refused_at": .string(RFC3339.string(window.firstRefusedAt)),
            "last_refused_at": .string(RFC3339.string(window.lastRefusedAt)), "lock_expires_at": .string(RFC3339.string(window.endsAt)),
        ]
    }

    static func countPayload(_ window: RefusalWindow) -> [String: PayloadValue] {
        [
            "refused_count": .count(Int64(window.refusals)), "first_refused_at": .time(window.firstRefusedAt),
            "last_refused_at": .time(window.lastRefusedAt), "lock_expires_at": .time(window.endsAt),
        ]
    }
}
