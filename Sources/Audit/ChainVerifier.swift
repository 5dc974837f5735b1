import Foundation
public import Logging
public import PostgresNIO
import VigilCore
public import VigilStorage

/// What `vigil audit verify` found in one tenant's trail.
public enum ChainVerification: Sendable, Equatable {
    /// Every entry's hash recomputes and links; nothing waits unsequenced for long.
    case intact(entries: Int64, head: String)
    /// The first place the chain differs from its entries.
    case broken(chainSeq: Int64, entryID: Int64?, reason: String)
    /// The chain is intact, but entries have waited unsequenced longer than the limit.
    case lagging(entries: Int64, head: String, unsequenced: Int64, oldestEntryID: Int64, waitedSeconds: Double)

    /// The command's exit code: 0 intact, 1 broken, 2 intact but lagging.
    public var exitCode: Int32 {
        switch self {
        case .intact: return 0
        case .broken: return 1
        case .lagging: return 2
        }
    }

    public var summary: String {
        switch self {
        case .intact(let entries, let head):
            return "intact: \(entries) entries, head \(head)"
        case .broken(let chainSeq, let entryID, let reason):
            return "BROKEN at entry id \(entryID.map(String.init) ?? "(missing)") (chain_seq \(chainSeq)): \(reason)"
        case .lagging(let entries, let head, let unsequenced, let oldest, let waited):
            return "intact: \(entries) entries, head \(head); but \(unsequenced) entries unsequenced, "
                + "the oldest (id \(oldest)) for \(String(format: "%.1f", waited)) s"
        }
    }
}

/// Recomputes a tenant's hash chain from its entries, streaming, in chain order.
public struct ChainVerifier: Sendable {
    /// How long an entry may wait for its chain position before verification reports it.
    public var unsequencedLimitSeconds: Double

    public init(unsequencedLimitSeconds: Double = 5) {
        self.unsequencedLimitSeconds = unsequencedLimitSeconds
    }

    public func verify(on client: any DatabaseClient, logger: Logger) async throws -> ChainVerification {
        // One snapshot for the chain walk and the unsequenced count.
        try await client.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) { connection in
            try await verify(on: connection, logger: logger)
        }
    }

    private func verify(on connection: PostgresConnection, logger: Logger) async throws -> ChainVerification {
        let rows = try await connection.query(
            """
            SELECT c.chain_seq, c.prev_hash, c.hash, \(unescaped: AuditEntry.columns)
            FROM audit_chain c LEFT JOIN audit_entries e ON e.id = c.entry_id
            ORDER BY c.chain_seq
            """,
            logger: logger
        )
        var previous = ChainHash.genesis
        var expectedSeq: Int64 = 1
        for try await row in rows {
            let columns = row.makeRandomAccess()
            let chainSeq = try columns[0].decode(Int64.self)
            let storedPrevious = try columns[1].decode(Data.self)
            let storedHash = try columns[2].decode(Data.self)
            let entry = try AuditEntry(row: columns, from: 3)
            guard chainSeq == expectedSeq else {
                return .broken(chainSeq: expectedSeq, entryID: nil, reason: "chain_seq \(expectedSeq) is missing (next is \(chainSeq))")
            }
            guard let entry else {
                return .broken(chainSeq: chainSeq, entryID: nil, reason: "the entry this position names is missing")
            }
            guard storedPrevious == previous else {
                return .broken(chainSeq: chainSeq, entryID: entry.id, reason: "prev_hash does not match the previous entry's hash")
            }
            let recomputed = ChainHash.hash(previous: previous, canonicalEntry: entry.canonicalBytes)
            guard recomputed == storedHash else {
                return .broken(
                    chainSeq: chainSeq, entryID: entry.id,
                    reason: "stored hash \(Hex.string(storedHash)) but the entry hashes to \(Hex.string(recomputed))"
                )
            }
            previous = storedHash
            expectedSeq += 1
        }
        let count = expectedSeq - 1
        let head = Hex.string(previous)
        let pending = try await connection.query(
            """
            SELECT count(*), min(e.id), coalesce(extract(epoch FROM clock_timestamp() - min(e.created_at))::float8, 0)
            FROM audit_entries e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = e.id)
            """,
            logger: logger
        ).decode((Int64, Int64?, Double).self)
        for try await (unsequenced, oldest, waited) in pending {
            if unsequenced > 0, let oldest, waited > unsequencedLimitSeconds {
                return .lagging(entries: count, head: head, unsequenced: unsequenced, oldestEntryID: oldest, waitedSeconds: waited)
            }
        }
        return .intact(entries: count, head: head)
    }
}
