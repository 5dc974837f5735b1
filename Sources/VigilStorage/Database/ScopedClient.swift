public import Logging
public import PostgresNIO

extension PostgresClient {
    /// Runs `body` with a client whose pool runs only for the duration of the call.
    ///
    /// For commands and provisioning steps that need a database briefly; long-lived pools are
    /// run by ``TenantDirectory`` under the application's service group.
    @discardableResult
    public static func withRunning<Result: Sendable>(
        _ configuration: PostgresClient.Configuration,
        logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger.forPoolInternals)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
