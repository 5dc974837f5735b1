public import VigilCore

/// A refusal that must leave a trace (failed login, lockout, denied sensitive action): the one way
/// to commit a refusal and answer its problem.
///
/// Thrown from a unit of work's body (or passed to ``TenantDatabase/refuse(_:context:logger:)``),
/// it rolls the body's transaction back; then a unit of work of its own commits what
/// ``record(in:)`` writes — the counters it must move, the audit entry and the event, nothing
/// else — and the caller is answered with the problem `record` returns (which may depend on what
/// the counters showed, such as a lock a parallel attempt set first).
public protocol RecordedRefusal: Error, Sendable {
    func record(in unitOfWork: inout UnitOfWork) async throws -> Problem
}
