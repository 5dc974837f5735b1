public import Foundation

/// The time every domain reads (decision 8): the system's in production, one a test moves by hand.
/// Domain code never calls `Date()`; it asks the clock it was built with.
public struct WallClock: Sendable {
    private let reading: @Sendable () -> Date

    public init(_ reading: @escaping @Sendable () -> Date) {
        self.reading = reading
    }

    public var now: Date { reading() }

    public static let system = WallClock { Date() }
}
