public import Logging
public import PostgresNIO

extension PostgresClient {
    /// Runs `body` on one pooled connection between `begin` (BEGIN, optionally with an isolation
    /// level) and COMMIT; on any error rolls back and rethrows the error itself, unwrapped
    /// (unlike `withTransaction`, which wraps it in `PostgresTransactionError`).
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
        if isClosed { return }
        if let error = error as? PSQLError,
            [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(error.code)
            || error.serverInfo?[.sqlState]?.hasPrefix("57P") == true
        {
            return
        }
        _ = try? await query("ROLLBACK", logger: logger)
    }
}
