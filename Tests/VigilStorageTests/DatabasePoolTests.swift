import Foundation
import Logging
import PostgresNIO
import Testing
import VigilTesting

@testable import VigilStorage

/// The server's bounded waits on a real PostgreSQL: a pool that cannot lend fails fast, a
/// statement past `statement_timeout` is cut, and both are a retryable ``DatabaseUnavailable``.
@Suite struct DatabasePoolTests {
    let logger = TestPostgres.logger

    /// Runs `body` with a bounded pool of `connections` on a fresh database of the test cluster.
    func withPool(
        connections: Int,
        limits: DatabaseLimits,
        server: DatabaseServer? = nil,
        _ body: @Sendable (DatabasePool) async throws -> Void
    ) async throws {
        let target: (server: DatabaseServer, database: String)
        if let server {
            target = (server, server.catalogDatabase)
        } else {
            target = try await TestPostgres.shared.emptyDatabase()
        }
        var configuration = target.server.configuration(role: target.server.administrator, database: target.database, limits: limits)
        configuration.options.maximumConnections = connections
        try await PostgresClient.withRunning(configuration, logger: logger) { client in
            try await body(DatabasePool(postgres: client, acquireTimeout: limits.acquireTimeout))
        }
    }

    static func elapsed(_ body: () async throws -> Void) async rethrows -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }

    @Test func aBusyPoolFailsTheNextCallerWithinTheAcquireTimeout() async throws {
        try await withPool(connections: 1, limits: DatabaseLimits(acquireTimeout: .milliseconds(300))) { pool in
            let holding = OneShot<Void>()
            let done = OneShot<Void>()
            let holder = Task {
                try await pool.withConnection { connection in
                    holding.fulfil(())
                    await done.value()
                    try await connection.query("SELECT 1", logger: logger)
                }
            }
            await holding.value()
            let waited = try await Self.elapsed {
                await #expect(throws: DatabaseUnavailable(.acquireTimeout)) {
                    try await pool.withConnection { try await $0.query("SELECT 1", logger: logger) }
                }
            }
            #expect(waited >= .milliseconds(300) && waited < .seconds(3))
            done.fulfil(())
            try await holder.value
            // The withdrawn request took nothing from the pool: the next caller is served.
            let answer = try await pool.withConnection { try await $0.query("SELECT 41 + 1", logger: logger).decode(Int.self).reduce(0, +) }
            #expect(answer == 42)
            #expect(!pool.isDown)
        }
    }

    @Test func aServerThatIsNotThereFailsWithinTheAcquireTimeout() async throws {
        let nowhere = DatabaseServer.embedded(socketDirectory: "/nonexistent-\(UUID().uuidString)", superuser: "postgres")
        try await withPool(connections: 2, limits: DatabaseLimits(acquireTimeout: .milliseconds(500)), server: nowhere) { pool in
            let waited = try await Self.elapsed {
                await #expect(throws: DatabaseUnavailable.self) {
                    try await pool.withConnection { try await $0.query("SELECT 1", logger: logger) }
                }
            }
            #expect(waited < .seconds(3))
            #expect(pool.isDown)
            // Taken as down, the pool keeps a later caller only for the probe.
            let probed = try await Self.elapsed {
                await #expect(throws: DatabaseUnavailable.self) {
                    try await pool.withConnection { try await $0.query("SELECT 1", logger: logger) }
                }
            }
            #expect(probed < .milliseconds(450))
        }
    }

    @Test func aStatementPastTheTimeoutIsCutAndTheTransactionRolledBack() async throws {
        let limits = DatabaseLimits(acquireTimeout: .seconds(5), statementTimeout: .milliseconds(400))
        try await withPool(connections: 1, limits: limits) { pool in
            try await pool.withConnection { try await $0.query("CREATE TABLE marks (id int)", logger: logger) }
            let waited = try await Self.elapsed {
                await #expect(throws: DatabaseUnavailable(.statementTimeout)) {
                    do {
                        try await pool.inTransaction(logger: logger) { connection in
                            try await connection.query("INSERT INTO marks VALUES (1)", logger: logger)
                            // Its rows are read: an error raised while a statement runs arrives with them.
                            _ = try await connection.query("SELECT pg_sleep(5)", logger: logger).collect()
                        }
                    } catch {
                        throw DatabaseUnavailable(classifying: error) ?? error
                    }
                }
            }
            #expect(waited < .seconds(3))
            // Rolled back, and the connection is usable again.
            let rows = try await pool.withConnection { try await $0.query("SELECT count(*) FROM marks", logger: logger).decode(Int64.self).reduce(0, +) }
            #expect(rows == 0)
        }
    }

    @Test(arguments: [
        ("57014", DatabaseUnavailable.Reason.statementTimeout),
        ("57P01", .serverUnavailable),
        ("57P03", .serverUnavailable),
        ("08006", .serverUnavailable),
        ("53300", .serverUnavailable),
    ])
    func serverErrorsThatMeanTheDatabaseIsUnavailable(state: String, reason: DatabaseUnavailable.Reason) async throws {
        let (server, database) = try await TestPostgres.shared.emptyDatabase()
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: database), logger: logger) { client in
            do {
                try await client.query(PostgresQuery(unsafeSQL: "DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '\(state)'; END $$"), logger: logger)
                Issue.record("the statement should fail")
            } catch {
                #expect(DatabaseUnavailable(classifying: error)?.reason == reason)
            }
        }
    }

    @Test func anOrdinaryErrorIsNotAnOutage() async throws {
        let (server, database) = try await TestPostgres.shared.emptyDatabase()
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: database), logger: logger) { client in
            do {
                try await client.query("SELECT * FROM no_such_table", logger: logger)
                Issue.record("the statement should fail")
            } catch {
                #expect(DatabaseUnavailable(classifying: error) == nil)
            }
        }
    }
}
