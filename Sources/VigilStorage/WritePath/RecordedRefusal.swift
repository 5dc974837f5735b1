public import VigilCore

/// A refusal that must leave a trace (failed login, lockout, denied sensitive action).
///
/// When a unit of work's body throws one, its transaction rolls back, and then a second unit of
/// work commits what ``record(in:)`` writes — the counters it must move, the audit entry and the
/// event, nothing else — before the refusal reaches the caller.
public protocol RecordedRefusal: Error {
    /// What the caller is answered once the refusal is recorded.
    var problem: Problem { get }
    func record(in unitOfWork: inout UnitOfWork) async throws
}
