public import Logging
public import PostgresNIO

extension PostgresConnection {
    /// Runs `body` between BEGIN (with `isolation`) and COMMIT; on any error rolls back and
    /// rethrows the error itself, unwrapped (unlike `withTransaction`).
    public func transaction<Output>(
        _ begin: String = "BEGIN",
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Output
    ) async throws -> Output {
        try await query(PostgresQuery(unsafeSQL: begin), logger: logger)
        do {
            let output = try await body(self)
            try await query("COMMIT", logger: logger)
            return output
        } catch {
            await rollBack(after: error, logger: logger)
            throw error
        }
    }

    /// ROLLBACK, unless the connection is gone: a backend killed mid-transaction has rolled back
    /// already, and a query sent on its closing connection would wait for an answer that never comes.
    public func rollBack(after error: any Error, logger: Logger) async {
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
