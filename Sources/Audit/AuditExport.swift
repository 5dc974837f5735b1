public import Foundation
public import Logging
public import PostgresNIO
import VigilCore
public import VigilStorage

/// The sequenced trail as JSON lines `{"chain_seq","prev_hash","hash","entry"}` in chain order:
/// the form docs/audit-format.md describes and an outside verifier (Tests/tools/recompute_chain.py) reads.
public enum AuditExport {
    /// Every sequenced entry, each rendered by `render` (canonical bytes by default).
    public static func lines(
        on client: any DatabaseClient,
        logger: Logger,
        render: (AuditEntry) throws -> Data = { Data($0.canonicalBytes) }
    ) async throws -> Data {
        try await client.withConnection { connection in try await lines(on: connection, logger: logger, render: render) }
    }

    static func lines(on connection: PostgresConnection, logger: Logger, render: (AuditEntry) throws -> Data) async throws -> Data {
        let rows = try await connection.query(
            """
            SELECT c.chain_seq, encode(c.prev_hash, 'hex'), encode(c.hash, 'hex'), \(unescaped: AuditEntry.columns)
            FROM audit_chain c JOIN audit_entries e ON e.id = c.entry_id
            ORDER BY c.chain_seq
            """,
            logger: logger
        )
        var output = Data()
        for try await row in rows {
            let columns = row.makeRandomAccess()
            guard let entry = try AuditEntry(row: columns, from: 3) else { continue }
            let chainSeq = try columns[0].decode(Int64.self)
            let previous = try columns[1].decode(String.self)
            let hash = try columns[2].decode(String.self)
            output.append(Data("{\"chain_seq\":\(chainSeq),\"prev_hash\":\"\(previous)\",\"hash\":\"\(hash)\",\"entry\":".utf8))
            output.append(try render(entry))
            output.append(Data("}\n".utf8))
        }
        return output
    }
}
