public import Foundation

/// The refusals counted on a throttle row while its lock holds (decision 0014): the first is
/// recorded in full, the later ones only counted, and the count is recorded once the window has
/// ended. Pure rules; the counts live on the throttle rows (``LoginThrottle``, ``AddressThrottle``).
public struct RefusalWindow: Sendable, Equatable {
    /// Refused attempts in the window, the fully recorded first one included.
    public let refusals: Int
    public let firstRefusedAt: Date
    public let lastRefusedAt: Date
    /// When the lock the refusals belong to ends.
    public let endsAt: Date

    public init(refusals: Int, firstRefusedAt: Date, lastRefusedAt: Date, endsAt: Date) {
        self.refusals = refusals
        self.firstRefusedAt = firstRefusedAt
        self.lastRefusedAt = lastRefusedAt
        self.endsAt = endsAt
    }

    /// How a refused attempt is recorded, by its place in its window.
    public enum Recording: Sendable, Equatable {
        /// An audit entry and an outbox event of its own.
        case inFull
        /// One more on the throttle row's count, and nothing else.
        case countOnly
    }

    /// The `number`-th refusal of a window (1 for the first) is recorded in full only if it is the first.
    public static func recording(ofRefusal number: Int) -> Recording {
        number <= 1 ? .inFull : .countOnly
    }

    /// Whether the window's count must be recorded at `now`: its lock has ended, and it counted
    /// refusals that have no entry of their own. A window of one refusal has its entry already.
    public func countDue(now: Date) -> Bool {
        endsAt <= now && refusals > 1
    }
}
