import Foundation
public import Logging
public import PostgresNIO
import VigilCore
public import VigilStorage

/// What one sequencing batch did.
public struct SequencedBatch: Sendable, Equatable {
    public var entries: Int
    public var events: Int
    /// False when another process held the tenant's sequencing lock.
    public var ranBatch: Bool

    public static let skipped = SequencedBatch(entries: 0, events: 0, ranBatch: false)
}

/// Gives committed audit entries their chain position and hash, and outbox events their replay
/// position, after commit (architecture decision 6, docs/decisions/0010).
///
/// Each batch is one REPEATABLE READ transaction of the tenant's sequencer role holding a
/// transaction-level advisory lock. It reads the snapshot's xmin, takes every entry and event
/// written at or after the last recorded horizon that has no position yet, in the order found, and
/// records the new horizon with them: every transaction below it had ended, so nothing can commit
/// below it later.
public struct AuditSequencer: Sendable {
    /// Distinguishes this lock from idempotency keys' locks (which hash into the whole 64-bit range).
    static let lockKey: Int64 = 0x5649_4749_4C53_4551  // "VIGILSEQ"
    public var batchLimit: Int

    public init(batchLimit: Int = 5_000) {
        self.batchLimit = batchLimit
    }

    /// Sequences one batch on `client` (connected as the tenant's sequencer role).
    public func sequenceBatch(on client: any DatabaseClient, logger: Logger) async throws -> SequencedBatch {
        try await client.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger) { connection in
            try await sequence(on: connection, logger: logger)
        }
    }

    /// Sequences until nothing is pending; returns the totals.
    @discardableResult
    public func sequenceAll(on client: any DatabaseClient, logger: Logger) async throws -> SequencedBatch {
        var total = SequencedBatch(entries: 0, events: 0, ranBatch: false)
        while true {
            let batch = try await sequenceBatch(on: client, logger: logger)
            total.entries += batch.entries
            total.events += batch.events
            total.ranBatch = total.ranBatch || batch.ranBatch
            if !batch.ranBatch || (batch.entries < batchLimit && batch.events < batchLimit) { return total }
        }
    }

    private func sequence(on connection: PostgresConnection, logger: Logger) async throws -> SequencedBatch {
        let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            .decode(Bool.self).reduce(into: false) { result, value in result = value }
        guard locked else { return .skipped }
        var xmin = "0"
        for try await value in try await connection.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", logger: logger).decode(String.self) {
            xmin = value
        }
        let entries = try await sequenceEntries(snapshotXmin: xmin, on: connection, logger: logger)
        let events = try await sequenceEvents(snapshotXmin: xmin, on: connection, logger: logger)
        return SequencedBatch(entries: entries, events: events, ranBatch: true)
    }

    // The LATERAL … LIMIT 1 probes keep the plan a nested loop over the few recent rows, using
    // index_audit_entries_on_xact_id and the side table's primary key; a plain NOT EXISTS lets the
    // planner hash the whole side table on every batch when statistics lag behind a fast-growing table.
    private func sequenceEntries(snapshotXmin: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var head: (seq: Int64, hash: Data, horizon: String) = (0, ChainHash.genesis, "0")
        for try await (seq, hash, horizon) in try await connection.query(
            "SELECT chain_seq, hash, horizon::text FROM audit_chain ORDER BY chain_seq DESC LIMIT 1", logger: logger
        ).decode((Int64, Data, String).self) {
            head = (seq, hash, horizon)
        }
        let rows = try await connection.query(
            """
            SELECT \(unescaped: AuditEntry.columns) FROM audit_entries e
            LEFT JOIN LATERAL (SELECT true AS sequenced FROM audit_chain c WHERE c.entry_id = e.id LIMIT 1) chained ON true
            WHERE e.xact_id >= \(head.horizon)::xid8 AND chained.sequenced IS NULL
            ORDER BY e.id LIMIT \(batchLimit)
            """,
            logger: logger
        )
        var entryIDs: [Int64] = []
        var sequenceNumbers: [Int64] = []
        var previousHashes: [String] = []
        var hashes: [String] = []
        var previous = head.hash
        var sequence = head.seq
        for try await row in rows {
            guard let entry = try AuditEntry(row: row.makeRandomAccess(), from: 0) else { continue }
            let hash = ChainHash.hash(previous: previous, canonicalEntry: entry.canonicalBytes)
            sequence += 1
            entryIDs.append(entry.id)
            sequenceNumbers.append(sequence)
            previousHashes.append(Hex.string(previous))
            hashes.append(Hex.string(hash))
            previous = hash
        }
        guard !entryIDs.isEmpty else { return 0 }
        // A full batch may have left candidates behind: keep the old horizon so they are found next time.
        let horizon = entryIDs.count < batchLimit ? snapshotXmin : head.horizon
        try await connection.query(
            """
            INSERT INTO audit_chain (entry_id, chain_seq, prev_hash, hash, horizon)
            SELECT u.entry_id, u.chain_seq, decode(u.prev_hash, 'hex'), decode(u.hash, 'hex'), \(horizon)::xid8
            FROM unnest(\(entryIDs)::bigint[], \(sequenceNumbers)::bigint[], \(previousHashes)::text[], \(hashes)::text[])
                AS u(entry_id, chain_seq, prev_hash, hash)
            """,
            logger: logger
        )
        return entryIDs.count
    }

    private func sequenceEvents(snapshotXmin: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var head: (position: Int64, horizon: String) = (0, "0")
        for try await (position, horizon) in try await connection.query(
            "SELECT position, horizon::text FROM outbox_positions ORDER BY position DESC LIMIT 1", logger: logger
        ).decode((Int64, String).self) {
            head = (position, horizon)
        }
        let rows = try await connection.query(
            """
            SELECT o.id FROM outbox_events o
            LEFT JOIN LATERAL (SELECT true AS positioned FROM outbox_positions p WHERE p.event_id = o.id LIMIT 1) placed ON true
            WHERE o.xact_id >= \(head.horizon)::xid8 AND placed.positioned IS NULL
            ORDER BY o.occurred_at, o.id LIMIT \(batchLimit)
            """,
            logger: logger
        ).decode(UUID.self)
        var eventIDs: [UUID] = []
        for try await id in rows { eventIDs.append(id) }
        guard !eventIDs.isEmpty else { return 0 }
        let positions = (1...Int64(eventIDs.count)).map { head.position + $0 }
        let horizon = eventIDs.count < batchLimit ? snapshotXmin : head.horizon
        try await connection.query(
            """
            INSERT INTO outbox_positions (event_id, position, horizon)
            SELECT u.event_id, u.position, \(horizon)::xid8 FROM unnest(\(eventIDs)::uuid[], \(positions)::bigint[]) AS u(event_id, position)
            """,
            logger: logger
        )
        return eventIDs.count
    }
}
