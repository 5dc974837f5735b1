public import Logging
public import PostgresNIO

/// What runs statements for Vigil: a ``DatabasePool``, bounded in the server, unbounded around a
/// command's or a test's own `PostgresClient`. It lends one connection for the duration of a closure.
public protocol DatabaseClient: Sendable {
    /// Runs `body` with one connection; callers use ``withConnection(isolation:_:)``.
    func lendConnection<Result>(
        isolation: isolated (any Actor)?,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result
}

extension DatabaseClient {
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await lendConnection(isolation: isolation, body)
    }

    /// Runs `body` on one connection between `begin` (BEGIN, optionally with an isolation level)
    /// and COMMIT; on any error rolls back and rethrows the error itself, unwrapped (unlike
    /// `withTransaction`, which wraps it in `PostgresTransactionError`).
    public func inTransaction<Output>(
        _ begin: String = "BEGIN",
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Output
    ) async throws -> sending Output {
        try await withConnection(isolation: isolation) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: begin), logger: logger)
            do {
                let output = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return output
            } catch {
                await connection.rollBack(after: error, logger: logger)
                throw error
            }
        }
    }
}

extension PostgresConnection {
    /// ROLLBACK, unless the connection is gone: a backend killed mid-transaction has rolled back
    /// already, and a query sent on its closing connection would wait for an answer that never comes.
    func rollBack(after error: any Error, logger: Logger) async {
        if isClosed || DatabaseUnavailable(classifying: error)?.connectionIsGone == true { return }
        _ = try? await query("ROLLBACK", logger: logger)
    }
}
