import Logging
import PostgresNIO
import Testing
import VigilTesting

@testable import VigilStorage

@Suite struct MigratorTests {
    let logger = TestPostgres.logger

    static let first = Migration(id: "test/0001_a.sql", sql: "CREATE TABLE a (x int); INSERT INTO a VALUES (1);")
    static let second = Migration(id: "test/0002_b.sql", sql: "CREATE TABLE b (y text DEFAULT 'semi;colon');")

    func withDatabase(_ body: @Sendable (PostgresClient, String) async throws -> Void) async throws {
        let (server, database) = try await TestPostgres.shared.emptyDatabase()
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: database), logger: logger) { client in
            try await body(client, database)
        }
    }

    func recorded(_ client: PostgresClient) async throws -> [String] {
        try await client.query("SELECT id FROM vigil_migrations ORDER BY id", logger: logger).decode(String.self).reduce(into: []) { $0.append($1) }
    }

    @Test func pendingMigrationsApplyInOrderOnceWithTheirChecksums() async throws {
        try await withDatabase { client, database in
            let applied = try await Migrator().migrate([Self.first, Self.second], on: client, database: database, logger: logger)
            #expect(applied == ["test/0001_a.sql", "test/0002_b.sql"])
            let again = try await Migrator().migrate([Self.first, Self.second], on: client, database: database, logger: logger)
            #expect(again.isEmpty)
            let checksums = try await client.query("SELECT checksum FROM vigil_migrations ORDER BY id", logger: logger)
                .decode(String.self).reduce(into: []) { $0.append($1) }
            #expect(checksums == [Self.first.checksum, Self.second.checksum])
            let rows = try await client.query("SELECT count(*) FROM a", logger: logger).decode(Int.self).reduce(0, +)
            #expect(rows == 1)
        }
    }

    @Test func aChangedAppliedMigrationStopsStartUp() async throws {
        try await withDatabase { client, database in
            try await Migrator().migrate([Self.first], on: client, database: database, logger: logger)
            let edited = Migration(id: Self.first.id, sql: Self.first.sql + "\n-- edited")
            await #expect(throws: MigrationError.checksumChanged(id: Self.first.id, database: database, recorded: Self.first.checksum, current: edited.checksum)) {
                try await Migrator().migrate([edited, Self.second], on: client, database: database, logger: logger)
            }
            #expect(try await recorded(client) == [Self.first.id])
        }
    }

    @Test func aDatabaseMigratedByANewerBuildIsRefused() async throws {
        try await withDatabase { client, database in
            try await Migrator().migrate([Self.first, Self.second], on: client, database: database, logger: logger)
            await #expect(throws: MigrationError.unknownApplied(id: Self.second.id, database: database)) {
                try await Migrator().migrate([Self.first], on: client, database: database, logger: logger)
            }
        }
    }

    @Test func aFailingMigrationLeavesNothingOfTheBatch() async throws {
        try await withDatabase { client, database in
            let broken = Migration(id: "test/0003_broken.sql", sql: "CREATE TABLE c (z int); SELECT * FROM missing_table;")
            await #expect(throws: MigrationError.self) {
                try await Migrator().migrate([Self.first, Self.second, broken], on: client, database: database, logger: logger)
            }
            let tables = try await client.query(
                "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('a', 'b', 'c')", logger: logger
            ).decode(Int.self).reduce(0, +)
            #expect(tables == 0)
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await withDatabase { client, database in
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await Migrator().migrate([Self.first, Self.second], on: client, database: database, logger: logger) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(applied.sorted() == [Self.first.id, Self.second.id])
            let rows = try await client.query("SELECT count(*) FROM a", logger: logger).decode(Int.self).reduce(0, +)
            #expect(rows == 1)
        }
    }
}
