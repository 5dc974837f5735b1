public import Logging

extension Logger {
    /// The background logger for a PostgresNIO pool: errors only.
    ///
    /// A pool is asked for its first connection a moment before its run task starts (both a
    /// short-lived command pool and a tenant pool opened by a request), which PostgresNIO reports
    /// as a warning on every such pool; only its errors are worth a line.
    public var forPoolInternals: Logger {
        var logger = self
        logger.logLevel = .error
        return logger
    }
}
