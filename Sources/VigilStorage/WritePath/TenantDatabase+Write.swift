import Foundation
public import Logging
import PostgresNIO
public import VigilCore

extension TenantDatabase {
    /// Runs `body` as one unit of work in this tenant's database and commits it.
    ///
    /// Errors thrown inside keep their own type. A ``RecordedRefusal`` rolls back (to the savepoint
    /// of ``UnitOfWork/holdLocksForRefusal()`` when the body set one, else the whole transaction),
    /// is recorded and answered with its problem. A context holding an
    /// idempotency claim is refused here (``UnitOfWorkError/idempotentResponseNotStored``): a claimed
    /// request must store its response, through ``write(_:logger:_:response:)``.
    public func write<Output>(
        _ context: WriteContext,
        logger: Logger,
        _ body: (inout UnitOfWork) async throws -> Output
    ) async throws -> Output {
        try await perform(context, logger: logger, body: body) { _ in nil }.output
    }

    /// The unit of work of a response path: `response` renders the output inside the transaction
    /// and, under an idempotency claim, the rendered response is stored with the change. A retry
    /// of a committed request throws ``IdempotentReplay``, a duplicate still running a 409
    /// problem and a different request under the same key a 422 problem.
    public func write<Output>(
        _ context: WriteContext,
        logger: Logger,
        _ body: (inout UnitOfWork) async throws -> Output,
        response: (Output) throws -> StoredResponse
    ) async throws -> StoredResponse {
        let written = try await perform(context, logger: logger, body: body, render: response)
        guard let response = written.response else { throw UnitOfWorkError.idempotentResponseNotStored }
        return response
    }

    /// One unit of work; `render` gives the response to store under the context's claim (nil:
    /// none, which a claimed unit of work refuses).
    private func perform<Output>(
        _ context: WriteContext,
        logger: Logger,
        body: (inout UnitOfWork) async throws -> Output,
        render: (Output) throws -> StoredResponse?
    ) async throws -> (output: Output, response: StoredResponse?) {
        try await keyring.prepareTenantKey(database: databaseName, client: client, logger: logger)
        let outcome: Outcome<Output>
        do {
            outcome = try await client.inTransaction(logger: logger) { connection in
                var unit = UnitOfWork(connection: connection, logger: logger, context: context, tenant: self)
                if let claim = context.idempotency { try await claimIdempotencyKey(claim, on: connection, logger: logger) }
                let output: Output
                do {
                    output = try await body(&unit)
                } catch let refusal as any RecordedRefusal {
                    // Under a savepoint the refusal records itself here, its locks still held.
                    guard try await unit.rollBackToRefusalPoint() else { throw refusal }
                    let problem = try await refusal.record(in: &unit)
                    try unit.requireAudited()
                    return .refused(problem)
                }
                try unit.requireAudited()
                let response = try render(output)
                if let claim = context.idempotency {
                    guard let response else { throw UnitOfWorkError.idempotentResponseNotStored }
                    try await IdempotencyStore(tenant: self).insert(claim, response: response, on: connection, logger: logger)
                }
                return .committed(output, response)
            }
        } catch let refusal as any RecordedRefusal {
            try await refuse(refusal, context: context, logger: logger)
        }
        commitSignal.signal()
        switch outcome {
        case .committed(let output, let response):
            context.idempotency?.receipt.markStored()
            return (output, response)
        case .refused(let problem): throw problem
        }
    }

    private enum Outcome<Output> {
        case committed(Output, StoredResponse?)
        case refused(Problem)
    }

    /// Commits what `refusal` records — its counters, entry and event, nothing else, never under
    /// an idempotency key — then throws the problem it answers.
    public func refuse(_ refusal: any RecordedRefusal, context: WriteContext, logger: Logger) async throws -> Never {
        try await keyring.prepareTenantKey(database: databaseName, client: client, logger: logger)
        var refusalContext = context
        refusalContext.idempotency = nil
        let problem = try await client.inTransaction(logger: logger) { connection in
            var unit = UnitOfWork(connection: connection, logger: logger, context: refusalContext, tenant: self)
            let problem = try await refusal.record(in: &unit)
            try unit.requireAudited()
            return problem
        }
        commitSignal.signal()
        throw problem
    }

    /// Takes the key's lock for this transaction: one request per scope and key runs at a time.
    private func claimIdempotencyKey(_ claim: IdempotencyClaim, on connection: PostgresConnection, logger: Logger) async throws {
        let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(claim.lockKey))", logger: logger)
            .decode(Bool.self).reduce(into: false) { result, value in result = value }
        guard locked else { throw Problem.idempotencyRequestInFlight() }
        if let stored = try await IdempotencyStore(tenant: self).find(claim, on: connection, logger: logger) {
            guard stored.requestHash == claim.requestHash else { throw Problem.idempotencyKeyReused() }
            throw IdempotentReplay(response: stored.response)
        }
    }
}

extension Problem {
    /// 409: the same `Idempotency-Key` is being processed by another request right now.
    public static func idempotencyRequestInFlight() -> Problem {
        Problem(
            status: .conflict, slug: "idempotency-request-in-flight", title: "A request with this Idempotency-Key is still in progress",
            detail: "Retry after the first request has finished; its response will then be replayed."
        )
    }

    /// 422: the `Idempotency-Key` was used before for a different request.
    public static func idempotencyKeyReused() -> Problem {
        Problem(
            status: .unprocessableContent, slug: "idempotency-key-reused", title: "This Idempotency-Key was used for a different request",
            detail: "Use a new key for a new request; a key replays only the exact request (method, path with query, and body) it was first used with."
        )
    }

    /// 400: a malformed key, or a key on a route that never stores responses.
    public static func idempotencyKeyRefused(_ detail: String) -> Problem {
        Problem(status: .badRequest, slug: "idempotency-key-refused", title: "The Idempotency-Key header cannot be used here", detail: detail)
    }

    /// 400: a route that moves money needs an `Idempotency-Key`.
    public static func idempotencyKeyRequired() -> Problem {
        Problem(
            status: .badRequest, slug: "idempotency-key-required", title: "This request needs an Idempotency-Key",
            detail: "Send a unique Idempotency-Key header (a UUID is a good choice) and reuse it when you retry."
        )
    }
}
