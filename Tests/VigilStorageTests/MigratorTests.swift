import Foundation
import Logging
import PostgresNIO
import Testing
import VigilTesting

@testable import VigilStorage

@Suite struct MigratorTests {
    let logger = TestPostgres.logger
    let first: Migration
    let second: Migration

    init() throws {
        first = try Migration(id: "test/0001_a.sql", sql: "CREATE TABLE a (x int); INSERT INTO a VALUES (1);")
        second = try Migration(id: "test/0002_b.sql", sql: "CREATE TABLE b (y text DEFAULT 'semi;colon');")
    }

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
            let applied = try await Migrator().migrate([first, second], on: client, database: database, logger: logger)
            #expect(applied == ["test/0001_a.sql", "test/0002_b.sql"])
            let again = try await Migrator().migrate([first, second], on: client, database: database, logger: logger)
            #expect(again.isEmpty)
            let checksums = try await client.query("SELECT checksum FROM vigil_migrations ORDER BY id", logger: logger)
                .decode(String.self).reduce(into: []) { $0.append($1) }
            #expect(checksums == [first.checksum, second.checksum])
            let rows = try await client.query("SELECT count(*) FROM a", logger: logger).decode(Int.self).reduce(0, +)
            #expect(rows == 1)
        }
    }

    @Test func aChangedAppliedMigrationStopsStartUp() async throws {
        try await withDatabase { client, database in
            try await Migrator().migrate([first], on: client, database: database, logger: logger)
            let edited = try Migration(id: first.id, sql: first.sql + "\n-- edited")
            await #expect(throws: MigrationError.checksumChanged(id: first.id, database: database, recorded: first.checksum, current: edited.checksum)) {
                try await Migrator().migrate([edited, second], on: client, database: database, logger: logger)
            }
            #expect(try await recorded(client) == [first.id])
        }
    }

    @Test func aDatabaseMigratedByANewerBuildIsRefused() async throws {
        try await withDatabase { client, database in
            try await Migrator().migrate([first, second], on: client, database: database, logger: logger)
            await #expect(throws: MigrationError.unknownApplied(id: second.id, database: database)) {
                try await Migrator().migrate([first], on: client, database: database, logger: logger)
            }
        }
    }

    @Test func aPendingMigrationNumberedBeforeAnAppliedOneIsRefused() async throws {
        try await withDatabase { client, database in
            let third = try Migration(id: "other/0003_c.sql", sql: "CREATE TABLE c (z int)")
            try await Migrator().migrate([first, third], on: client, database: database, logger: logger)
            // `second` (0002) arrives after 0003 was applied: a fresh database would run it first.
            await #expect(throws: MigrationError.outOfOrder(id: second.id, database: database, applied: third.id)) {
                try await Migrator().migrate([first, second, third], on: client, database: database, logger: logger)
            }
            let tables = try await client.query(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'", logger: logger
            ).decode(Int.self).reduce(0, +)
            #expect(tables == 0)
        }
    }

    @Test func aFailingMigrationLeavesNothingOfTheBatch() async throws {
        try await withDatabase { client, database in
            let broken = try Migration(id: "test/0003_broken.sql", sql: "CREATE TABLE c (z int); SELECT * FROM missing_table;")
            await #expect(throws: MigrationError.self) {
                try await Migrator().migrate([first, second, broken], on: client, database: database, logger: logger)
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
                    group.addTask { try await Migrator().migrate([first, second], on: client, database: database, logger: logger) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(applied.sorted() == [first.id, second.id])
            let rows = try await client.query("SELECT count(*) FROM a", logger: logger).decode(Int.self).reduce(0, +)
            #expect(rows == 1)
        }
    }

    // MARK: - One sequence across domains

    /// Migrations with these ids, each with SQL of its own (so checksums differ).
    static func migrations(_ ids: [String]) throws -> [Migration] {
        try ids.map { try Migration(id: $0, sql: "-- \($0)") }
    }

    static let interleavings: [([[String]], [String])] = [
        (
            [["a/0001_x.sql", "a/0003_x.sql"], ["b/0002_y.sql", "b/0005_y.sql"], ["c/0004_z.sql"]],
            ["a/0001_x.sql", "b/0002_y.sql", "a/0003_x.sql", "c/0004_z.sql", "b/0005_y.sql"]
        ),
        // The order domains are given in does not matter, nor the order of one domain's files.
        (
            [["c/0004_z.sql"], ["b/0002_y.sql"], ["a/0003_x.sql", "a/0001_x.sql"]],
            ["a/0001_x.sql", "b/0002_y.sql", "a/0003_x.sql", "c/0004_z.sql"]
        ),
        ([[], ["b/0010_y.sql", "b/0002_y.sql"], []], ["b/0002_y.sql", "b/0010_y.sql"]),
        ([[], [], []], []),
    ]

    @Test(arguments: interleavings)
    func everyDomainsMigrationsRunInOneGlobalSequence(domains: [[String]], ordered: [String]) throws {
        let plan = try MigrationPlan.ordered(domains.map(Self.migrations))
        #expect(plan.map(\.id) == ordered)
    }

    static let sharedSequences: [([[String]], MigrationPlanError)] = [
        (
            [["a/0001_x.sql", "a/0002_x.sql"], ["b/0002_y.sql"]],
            .duplicateSequence(sequence: 2, first: "a/0002_x.sql", second: "b/0002_y.sql")
        ),
        (
            [["a/0001_x.sql"], ["b/0003_y.sql"], ["c/0003_z.sql"]],
            .duplicateSequence(sequence: 3, first: "b/0003_y.sql", second: "c/0003_z.sql")
        ),
        ([["a/0001_x.sql", "a/0001_y.sql"]], .duplicateSequence(sequence: 1, first: "a/0001_x.sql", second: "a/0001_y.sql")),
    ]

    @Test(arguments: sharedSequences)
    func twoMigrationsSharingASequenceNumberAreRefused(domains: [[String]], refusal: MigrationPlanError) throws {
        let domains = try domains.map(Self.migrations)
        let error = #expect(throws: MigrationPlanError.self) { try MigrationPlan.ordered(domains) }
        #expect(error == refusal)
        if case .duplicateSequence(_, let first, let second) = refusal {
            #expect(error?.description.contains(first) == true)
            #expect(error?.description.contains(second) == true)
        }
    }

    static let numberedFileNames: [(String, Int?)] = [
        ("0003_chain.sql", 3),
        ("0120_positions.sql", 120),
        ("9999_last.sql", 9999),
        ("chain.sql", nil),
        ("003_chain.sql", nil),
        ("00003_chain.sql", nil),
        ("0003chain.sql", nil),
        ("v0003_chain.sql", nil),
        ("00a3_chain.sql", nil),
        ("0003_", nil),
    ]

    @Test(arguments: numberedFileNames)
    func aMigrationsSequenceIsItsFileNamesFourDigitPrefix(name: String, sequence: Int?) throws {
        let id = "b/\(name)"
        if let sequence {
            #expect(try Migration(id: id, sql: "").sequence == sequence)
        } else {
            #expect(throws: MigrationPlanError.unnumbered(id: id)) { try Migration(id: id, sql: "") }
        }
    }

    /// A directory of `.sql` files (name → text), removed after `body`.
    func withMigrationDirectory(_ files: [String: String], _ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, sql) in files {
            try sql.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try body(directory)
    }

    @Test func aMigrationFileWithoutASequenceNumberIsRefused() throws {
        try withMigrationDirectory(["0001_accounts.sql": "CREATE TABLE accounts (id int);", "chain.sql": "CREATE TABLE chain (n int);"]) { directory in
            #expect(throws: MigrationPlanError.unnumbered(id: "b/chain.sql")) { try Migration.load(module: "b", directory: directory) }
        }
    }

    @Test func loadingGivesEachRenumberedFileItsPreviousIDs() throws {
        try withMigrationDirectory(["0001_accounts.sql": "CREATE TABLE accounts (id int);", "0003_chain.sql": "CREATE TABLE chain (n int);"]) { directory in
            let loaded = try Migration.load(module: "b", directory: directory, previousIDs: ["0003_chain.sql": ["b/0001_chain.sql"]])
            let expected = [
                try Migration(id: "b/0001_accounts.sql", sql: "CREATE TABLE accounts (id int);"),
                try Migration(id: "b/0003_chain.sql", sql: "CREATE TABLE chain (n int);", previousIDs: ["b/0001_chain.sql"]),
            ]
            #expect(loaded == expected)
            #expect(loaded.map(\.sequence) == [1, 3])
        }
    }

    @Test func previousIDsForAFileThatIsNotThereAreRefused() throws {
        try withMigrationDirectory(["0001_accounts.sql": "CREATE TABLE accounts (id int);"]) { directory in
            #expect(throws: MigrationPlanError.previousIDsForMissingFile(id: "b/0003_chain.sql")) {
                try Migration.load(module: "b", directory: directory, previousIDs: ["0003_chain.sql": ["b/0001_chain.sql"]])
            }
        }
    }

    @Test func aDomainsLaterMigrationMayUseAnotherDomainsEarlierTablesOnAFreshDatabase() async throws {
        let a = [
            try Migration(id: "a/0001_accounts.sql", sql: "CREATE TABLE accounts (id int PRIMARY KEY);"),
            try Migration(id: "a/0003_statements.sql", sql: "CREATE TABLE statements (ledger_id int NOT NULL REFERENCES ledgers (id));"),
        ]
        let b = [
            try Migration(id: "b/0002_ledgers.sql", sql: "CREATE TABLE ledgers (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id));")
        ]
        let c = [
            try Migration(
                id: "c/0004_statement_accounts.sql",
                sql: "CREATE VIEW statement_accounts AS SELECT l.account_id FROM statements s JOIN ledgers l ON l.id = s.ledger_id;"
            )
        ]
        let plan = try MigrationPlan.ordered([c, b, a])
        try await withDatabase { client, database in
            let applied = try await Migrator().migrate(plan, on: client, database: database, logger: logger)
            #expect(applied == ["a/0001_accounts.sql", "b/0002_ledgers.sql", "a/0003_statements.sql", "c/0004_statement_accounts.sql"])
            #expect(try await recorded(client) == applied.sorted())
        }
    }

    // MARK: - Data directories migrated under the old ids

    /// What a build before the global sequence shipped: ids `<module>/0001_…`, run in module order.
    /// None of the SQL may run twice (`CREATE TABLE` without `IF NOT EXISTS`).
    static let oldStorage = "CREATE TABLE base (id int PRIMARY KEY);"
    static let oldChain = "CREATE TABLE chain (base_id int NOT NULL REFERENCES base (id));"
    static let oldIdentity = "CREATE TABLE users (id int PRIMARY KEY);"

    static func oldBuild() throws -> [Migration] {
        [
            try Migration(id: "storage/0001_base.sql", sql: oldStorage),
            try Migration(id: "audit/0001_chain.sql", sql: oldChain),
            try Migration(id: "identity/0001_identity.sql", sql: oldIdentity),
        ]
    }

    /// The same files renumbered into one sequence, carrying the ids they were recorded under,
    /// plus a new migration that uses two domains' tables.
    static func renumberedBuild(chain: String = MigratorTests.oldChain, sessions: String = "CREATE TABLE sessions (user_id int NOT NULL REFERENCES users (id));")
        throws -> [Migration]
    {
        try MigrationPlan.ordered([
            [try Migration(id: "storage/0001_base.sql", sql: oldStorage)],
            [try Migration(id: "audit/0003_chain.sql", sql: chain, previousIDs: ["audit/0001_chain.sql"])],
            [
                try Migration(id: "identity/0004_identity.sql", sql: oldIdentity, previousIDs: ["identity/0001_identity.sql"]),
                try Migration(id: "identity/0005_sessions.sql", sql: sessions),
            ],
        ])
    }

    func recordedChecksums(_ client: PostgresClient) async throws -> [String: String] {
        var checksums: [String: String] = [:]
        for try await (id, checksum) in try await client.query("SELECT id, checksum FROM vigil_migrations", logger: logger).decode((String, String).self) {
            checksums[id] = checksum
        }
        return checksums
    }

    @Test func aDatabaseMigratedUnderOldIDsKeepsItsSchemaAndTakesTheNewIDs() async throws {
        let old = try Self.oldBuild()
        let renumbered = try Self.renumberedBuild()
        try await withDatabase { client, database in
            try await Migrator().migrate(old, on: client, database: database, logger: logger)
            let applied = try await Migrator().migrate(renumbered, on: client, database: database, logger: logger)
            #expect(applied == ["identity/0005_sessions.sql"])
            #expect(try await recordedChecksums(client) == Dictionary(uniqueKeysWithValues: renumbered.map { ($0.id, $0.checksum) }))
            let again = try await Migrator().migrate(renumbered, on: client, database: database, logger: logger)
            #expect(again.isEmpty)
        }
    }

    @Test func aChangedMigrationRecordedUnderAPreviousIDIsRefused() async throws {
        let old = try Self.oldBuild()
        let edited = try Self.renumberedBuild(chain: Self.oldChain + "\n-- edited")
        let recordedChain = try #require(old.first(where: { $0.id == "audit/0001_chain.sql" }))
        let editedChain = try #require(edited.first(where: { $0.id == "audit/0003_chain.sql" }))
        try await withDatabase { client, database in
            try await Migrator().migrate(old, on: client, database: database, logger: logger)
            await #expect(
                throws: MigrationError.checksumChanged(
                    id: "audit/0003_chain.sql", database: database, recorded: recordedChain.checksum, current: editedChain.checksum
                )
            ) {
                try await Migrator().migrate(edited, on: client, database: database, logger: logger)
            }
            #expect(try await recorded(client) == old.map(\.id).sorted())
        }
    }

    @Test func renamedRecordsRollBackWithAFailingMigration() async throws {
        let old = try Self.oldBuild()
        let broken = try Self.renumberedBuild(sessions: "CREATE TABLE sessions (user_id int NOT NULL REFERENCES missing_table (id));")
        try await withDatabase { client, database in
            try await Migrator().migrate(old, on: client, database: database, logger: logger)
            await #expect(throws: MigrationError.self) {
                try await Migrator().migrate(broken, on: client, database: database, logger: logger)
            }
            #expect(try await recorded(client) == old.map(\.id).sorted())
        }
    }
}
