public import PostgresNIO

extension PostgresRowSequence {
    /// Reads every row: an error raised while a statement runs arrives with its rows, and an
    /// unread result would hold up the connection's next statement.
    public func drain() async throws {
        for try await _ in self {}
    }
}
