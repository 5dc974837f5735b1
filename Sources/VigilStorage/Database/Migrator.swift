public import Logging
public import PostgresNIO

/// Why start-up stops rather than run against a schema it does not understand.
public enum MigrationError: Error, CustomStringConvertible, Sendable, Equatable {
    case checksumChanged(id: String, database: String, recorded: String, current: String)
    case unknownApplied(id: String, database: String)
    case failed(id: String, database: String, reason: String)
    case outOfOrder(id: String, database: String, applied: String)

    public var description: String {
        switch self {
        case .checksumChanged(let id, let database, let recorded, let current):
            return """
                Migration \(id) was changed after it was applied to database \(database) \
                (recorded checksum \(recorded.prefix(12))…, file now \(current.prefix(12))…). \
                Applied migrations must never change: restore the file and put the change in a new migration.
                """
        case .unknownApplied(let id, let database):
            return """
                Database \(database) has migration \(id) applied, which this build of Vigil does not know. \
                It was migrated by a newer Vigil: run that version, or restore a backup.
                """
        case .outOfOrder(let id, let database, let applied):
            return """
                Migration \(id) is pending on database \(database), but \(applied), which comes after it, is applied already. \
                A fresh database would apply them in the other order: give \(id) a number after every applied migration.
                """
        case .failed(let id, let database, let reason):
            return "Migration \(id) failed on database \(database), nothing of it was applied: \(reason)"
        }
    }
}

/// Applies ordered migrations to one database: under a transaction-level advisory lock, all
/// pending migrations in one transaction (PostgreSQL DDL is transactional, so a failure leaves
/// nothing half-applied), each recorded with its checksum in `vigil_migrations`. A record under
/// one of a migration's `previousIDs` is renamed to its id in the same transaction.
public struct Migrator: Sendable {
    /// The advisory lock key every migrator takes, whatever the database ("vigilmig" in ASCII).
    static let lockKey: Int64 = 0x7669_6769_6c6d_6967

    public init() {}

    /// Applies what is pending; returns the ids applied, in order.
    @discardableResult
    public func migrate(_ migrations: [Migration], on client: PostgresClient, database: String, logger: Logger) async throws -> [String] {
        try await client.withConnection { connection in
            try await migrate(migrations, on: connection, database: database, logger: logger)
        }
    }

    func migrate(_ migrations: [Migration], on connection: PostgresConnection, database: String, logger: Logger) async throws -> [String] {
        _ = try await connection.query("BEGIN", logger: logger)
        do {
            let applied = try await applyPending(migrations, on: connection, database: database, logger: logger)
            _ = try await connection.query("COMMIT", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    private func applyPending(_ migrations: [Migration], on connection: PostgresConnection, database: String, logger: Logger) async throws -> [String] {
        for try await _ in try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger) {}
        _ = try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS vigil_migrations (
                id text PRIMARY KEY,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var recorded: [String: String] = [:]
        for try await (id, checksum) in try await connection.query("SELECT id, checksum FROM vigil_migrations", logger: logger)
            .decode((String, String).self)
        {
            recorded[id] = checksum
        }
        let known = Set(migrations.map(\.id))
        // A migration whose file was renumbered is recorded under an id of an earlier build: with
        // the same checksum it was applied already, so its record takes the new id. An id another
        // migration still goes by is never taken over.
        for migration in migrations where recorded[migration.id] == nil {
            guard let previousID = migration.previousIDs.first(where: { recorded[$0] != nil && !known.contains($0) }),
                let checksum = recorded[previousID]
            else { continue }
            guard checksum == migration.checksum else {
                throw MigrationError.checksumChanged(id: migration.id, database: database, recorded: checksum, current: migration.checksum)
            }
            _ = try await connection.query("UPDATE vigil_migrations SET id = \(migration.id) WHERE id = \(previousID)", logger: logger)
            recorded[previousID] = nil
            recorded[migration.id] = checksum
            logger.info(
                "Renamed migration record",
                metadata: ["migration": "\(migration.id)", "previous_id": "\(previousID)", "database": "\(database)"]
            )
        }
        if let unknown = recorded.keys.sorted().first(where: { !known.contains($0) }) {
            throw MigrationError.unknownApplied(id: unknown, database: database)
        }
        // A pending migration numbered before an applied one would run in another order here than
        // on a fresh database (two branches numbering migrations in parallel): refused, not guessed.
        if let latest = migrations.filter({ recorded[$0.id] != nil }).max(by: { $0.sequence < $1.sequence }),
            let early = migrations.first(where: { recorded[$0.id] == nil && $0.sequence < latest.sequence })
        {
            throw MigrationError.outOfOrder(id: early.id, database: database, applied: latest.id)
        }
        var applied: [String] = []
        for migration in migrations {
            if let checksum = recorded[migration.id] {
                guard checksum == migration.checksum else {
                    throw MigrationError.checksumChanged(id: migration.id, database: database, recorded: checksum, current: migration.checksum)
                }
                continue
            }
            do {
                // PostgresNIO speaks only the extended protocol: one statement per query.
                // Rows are drained: an error raised while a SELECT runs arrives with its rows, not with the reply.
                for statement in SQLStatements.split(migration.sql) {
                    for try await _ in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) {}
                }
            } catch let error as PSQLError {
                throw MigrationError.failed(id: migration.id, database: database, reason: error.serverInfo?[.message] ?? String(reflecting: error))
            }
            _ = try await connection.query(
                "INSERT INTO vigil_migrations (id, checksum) VALUES (\(migration.id), \(migration.checksum))",
                logger: logger
            )
            logger.info("Applied migration", metadata: ["migration": "\(migration.id)", "database": "\(database)"])
            applied.append(migration.id)
        }
        return applied
    }
}
