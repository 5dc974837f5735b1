public import Foundation

/// When failed logins lock an account or an address, and for how long (spec 02). Pure rules; the
/// counters they read live in the database (``LoginThrottle``).
public struct LockoutPolicy: Sendable, Equatable {
    /// Consecutive failures that lock the account.
    public var failuresBeforeLock = 5
    public var firstLockDuration: TimeInterval = 60
    public var longestLockDuration: TimeInterval = 3600
    /// Failures from one address within `addressWindow` that block the address, set well above the
    /// per-account limit so one locked account does not lock out an office behind one address.
    public var addressFailureLimit = 50
    public var addressWindow: TimeInterval = 15 * 60

    public init() {}

    /// The lock after the `lockout`-th lockout in a row (1 for the first): 1 min doubling to 1 h.
    public func lockDuration(lockout: Int) -> TimeInterval {
        let doublings = max(0, min(lockout - 1, 30))
        return min(firstLockDuration * pow(2, Double(doublings)), longestLockDuration)
    }

    /// Whether the `failures`-th failure in a row locks the account.
    public func locks(afterFailure failures: Int) -> Bool {
        failures == failuresBeforeLock
    }

    /// Seconds to put in `Retry-After` for a lock ending at `until`, never less than one.
    public static func retryAfter(until: Date, now: Date) -> Int {
        max(1, Int(until.timeIntervalSince(now).rounded(.up)))
    }
}
