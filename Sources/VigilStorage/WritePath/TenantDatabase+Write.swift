import Foundation
public import Logging
import PostgresNIO
public import VigilCore

extension TenantDatabase {
    /// Runs `body` as one unit of work in this tenant's database and commits it.
    ///
    /// Errors thrown inside keep their own type. A ``RecordedRefusal`` rolls back, then commits
    /// what the refusal records, then is rethrown. With an idempotency claim in `context`, a retry
    /// of a committed request throws ``IdempotentReplay``, a duplicate still running throws a 409
    /// problem and a different request under the same key a 422 problem.
    public func write<Output>(
        _ context: WriteContext,
        logger: Logger,
        _ body: (inout UnitOfWork) async throws -> Output
    ) async throws -> Output {
        try await perform(context, logger: logger, body: body, storedResponse: { _ in nil })
    }

    /// ``write(_:logger:_:)`` whose output is kept as the response to replay under the request's
    /// `Idempotency-Key`; `storedResponse` renders it inside the transaction.
    func perform<Output>(
        _ context: WriteContext,
        logger: Logger,
        body: (inout UnitOfWork) async throws -> Output,
        storedResponse: (Output) throws -> StoredResponse?
    ) async throws -> Output {
        try await keyring.prepareTenantKey(database: databaseName, client: client, logger: logger)
        do {
            let output = try await client.inTransaction(logger: logger) { connection in
                var unit = UnitOfWork(connection: connection, logger: logger, context: context, tenant: self)
                if let claim = context.idempotency { try await claimIdempotencyKey(claim, on: connection, logger: logger) }
                let output = try await body(&unit)
                try unit.requireAudited()
                let response = try storedResponse(output)
                if let claim = context.idempotency, let response {
                    try await IdempotencyStore(tenant: self).insert(claim, response: response, on: connection, logger: logger)
                }
                return output
            }
            commitSignal.signal()
            return output
        } catch let refusal as any RecordedRefusal {
            var refusalContext = context
            refusalContext.idempotency = nil
            try await client.inTransaction(logger: logger) { connection in
                var unit = UnitOfWork(connection: connection, logger: logger, context: refusalContext, tenant: self)
                try await refusal.record(in: &unit)
                try unit.requireAudited()
            }
            commitSignal.signal()
            throw refusal
        }
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
}
