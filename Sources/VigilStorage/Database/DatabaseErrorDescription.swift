import PostgresNIO

/// Words for an operator about any error a command met: PostgreSQL's own message and SQLSTATE
/// for database errors (PSQLError's description is deliberately vague), the error's description otherwise.
public func operatorDescription(of error: any Error) -> String {
    if let error = error as? PSQLError {
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return "PostgreSQL: \(message)\(state)"
        }
        return "PostgreSQL: \(error.code)"
    }
    if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.commitError {
        return operatorDescription(of: inner)
    }
    return String(describing: error)
}
