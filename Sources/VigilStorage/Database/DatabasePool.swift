public import PostgresNIO
import Synchronization

/// A connection pool with a bounded wait: a connection not lent within `acquireTimeout` —
/// PostgreSQL down, restarting, or every connection busy — fails the caller with
/// ``DatabaseUnavailable`` instead of queueing it until the pool's circuit breaker trips a minute
/// later. Without a timeout (commands, tests) it lends as `PostgresClient` does.
///
/// Once a lease failed, the pool is taken as down: later callers wait only `probeTimeout` until one
/// is served again, so a request that needs several statements is not kept waiting once for each.
///
/// The lease is taken by a task of its own and handed over, so the caller's closure runs in the
/// caller's own task and isolation; cancelling that task withdraws the pool request.
public final class DatabasePool: DatabaseClient {
    /// The pool itself; ``TenantDirectory`` runs it.
    public let postgres: PostgresClient
    public let acquireTimeout: Duration?
    /// The wait while the pool is taken as down.
    public static let probeTimeout: Duration = .milliseconds(200)
    private let down = Mutex(false)

    public init(postgres: PostgresClient, acquireTimeout: Duration? = nil) {
        self.postgres = postgres
        self.acquireTimeout = acquireTimeout
    }

    /// Whether the last lease failed.
    public var isDown: Bool { down.withLock { $0 } }

    public func lendConnection<Result>(
        isolation: isolated (any Actor)?,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        guard let acquireTimeout else { return try await postgres.withConnection(isolation: isolation, body) }
        let wait = isDown ? min(acquireTimeout, Self.probeTimeout) : acquireTimeout
        let delivery = OneShot<Swift.Result<PostgresConnection, any Error>>()
        let release = OneShot<Void>()
        let lending = Task { [postgres] in
            do {
                try await postgres.withConnection { connection in
                    // Lent after the deadline passed: give it straight back.
                    if delivery.fulfil(.success(connection)) { await release.value() }
                }
            } catch {
                delivery.fulfil(.failure(error))
            }
        }
        let deadline = Task {
            try await Task.sleep(for: wait)
            delivery.fulfil(.failure(DatabaseUnavailable(.acquireTimeout)))
        }
        let lent = await delivery.value()
        deadline.cancel()
        defer { release.fulfil(()) }
        down.withLock { $0 = lent.isFailure }
        switch lent {
        case .success(let connection):
            return try await body(connection)
        case .failure(let error):
            // Withdraws the request from the pool's queue.
            lending.cancel()
            throw DatabaseUnavailable(classifying: error) ?? error
        }
    }
}

/// A value set once and awaited by one task; awaiting ignores cancellation.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case pending(CheckedContinuation<Value, Never>?)
        case set(Value)
    }

    private let state = Mutex<State>(.pending(nil))

    /// Sets the value unless it is set already; says whether this call set it.
    @discardableResult
    func fulfil(_ value: Value) -> Bool {
        let waiter: CheckedContinuation<Value, Never>?? = state.withLock { state in
            guard case .pending(let waiter) = state else { return .none }
            state = .set(value)
            return .some(waiter)
        }
        guard case .some(let continuation) = waiter else { return false }
        continuation?.resume(returning: value)
        return true
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                switch state {
                case .set(let value):
                    return value
                case .pending:
                    state = .pending(continuation)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension Result {
    fileprivate var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
