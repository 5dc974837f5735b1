import Foundation
import Identity
import Testing

/// Decision 0014's rules, table-driven: which refusal of a lock's window is recorded in full, and
/// when a window's count is due.
@Suite struct RefusalWindowTests {
    @Test(arguments: [(1, RefusalWindow.Recording.inFull), (2, .countOnly), (3, .countOnly), (1_000, .countOnly)])
    func onlyTheFirstRefusalOfAWindowIsRecordedInFull(number: Int, expected: RefusalWindow.Recording) {
        #expect(RefusalWindow.recording(ofRefusal: number) == expected)
    }

    static let lockEnd = Date(timeIntervalSince1970: 1_800_000_000)

    /// (refusals in the window, seconds from the lock's end to now, due)
    @Test(arguments: [
        (2, -1.0, false),
        (1_000, -600.0, false),
        (2, 0.0, true),
        (2, 1.0, true),
        (571, 3600.0, true),
        // A window of one refusal has its entry already: there is nothing left to count.
        (1, 1.0, false),
        (0, 1.0, false),
    ])
    func aWindowsCountIsDueOnceItsLockHasEndedIfItCountedMoreThanTheFirst(refusals: Int, secondsAfterEnd: Double, due: Bool) {
        let window = RefusalWindow(
            refusals: refusals, firstRefusedAt: Self.lockEnd.addingTimeInterval(-50), lastRefusedAt: Self.lockEnd.addingTimeInterval(-2), endsAt: Self.lockEnd
        )
        #expect(window.countDue(now: Self.lockEnd.addingTimeInterval(secondsAfterEnd)) == due)
    }

    @Test(arguments: [(Population.staff, OwnSecondFactorDisabling.refused), (.customer, .withFreshCode)])
    func staffNeverSwitchOffTheirOwnSecondFactorAndCustomersNeedAFreshCode(population: Population, expected: OwnSecondFactorDisabling) {
        #expect(OwnSecondFactorDisabling.rule(for: population) == expected)
    }
}
