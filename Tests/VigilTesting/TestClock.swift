public import Foundation
import Synchronization
public import VigilCore

/// A clock a test moves forward by hand (lock expiry, token expiry); between moves it runs with
/// real time, so rows written in order keep their order.
public final class TestClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    public init() {}

    public func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }

    public var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// The clock the application reads.
    public var wallClock: WallClock { WallClock { self.now } }
}
