import Audit
import Foundation
import PostgresNIO
import Testing
import VigilStorage
import VigilTesting

@Suite struct ConcurrencyTests {
    @Test func thirtyTwoWritersInParallelLeaveAGapFreeChainThatVerifies() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            let perWriter = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The sequencer runs while the writers commit, as in production.
                let sequencing = Task {
                    while !Task.isCancelled {
                        try await AuditSequencer(batchLimit: 7).sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                for writer in 0..<32 {
                    group.addTask {
                        for index in 0..<perWriter {
                            try await Widgets.add("w\(writer)-\(index)", in: fixture.tenant, logger: fixture.logger)
                        }
                    }
                }
                try await group.waitForAll()
                sequencing.cancel()
                _ = await sequencing.result
            }
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let total = Int64(32 * perWriter)
            #expect(try await fixture.count("SELECT count(*) FROM audit_chain") == total)
            #expect(try await fixture.count("SELECT max(chain_seq) FROM audit_chain") == total)
            #expect(try await fixture.count("SELECT count(*) FROM outbox_positions") == total)
            #expect(try await fixture.count("SELECT max(position) FROM outbox_positions") == total)
            let result = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .intact(total, _) = result else { Issue.record("unexpected \(result)"); return }
        }
    }

    @Test func aWriterKilledMidTransactionLeavesNoEntry() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            let writer = Task {
                try await fixture.tenant.write(.system("doomed"), logger: fixture.logger) { unit in
                    try await unit.connection.query("INSERT INTO widgets (id, name) VALUES (\(UUID()), 'doomed')", logger: unit.logger)
                    try await unit.record(AuditRecord(action: "widget.created", entityType: "widget"))
                    try await unit.emit(OutboxEvent(aggregateType: "widget", aggregateID: "x", type: "widget.created", payload: [:]))
                    for try await _ in try await unit.connection.query("SELECT pg_sleep(8)", logger: unit.logger) {}
                }
            }
            // Wait until the doomed transaction has written its entry and sleeps, then kill its backend.
            let killed = try await fixture.superuser { client in
                for _ in 0..<200 {
                    try await Task.sleep(for: .milliseconds(25))
                    let terminated = try await client.query(
                        """
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE state = 'active' AND query LIKE '%pg_sleep(8)%' AND pid <> pg_backend_pid()
                        """,
                        logger: fixture.logger
                    ).decode(Bool.self).reduce(false) { $0 || $1 }
                    if terminated { return true }
                }
                return false
            }
            #expect(killed)
            await #expect(throws: (any Error).self) { try await writer.value }
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM widgets") == 0)
            // The pool recovers: the next write commits and the chain verifies.
            try await Widgets.add("after", in: fixture.tenant, logger: fixture.logger)
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let result = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .intact(1, _) = result else { Issue.record("unexpected \(result)"); return }
        }
    }

    @Test func twoSequencersNeverInterleave() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            for index in 0..<20 { try await Widgets.add("w\(index)", in: fixture.tenant, logger: fixture.logger) }
            async let first = AuditSequencer(batchLimit: 3).sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            async let second = AuditSequencer(batchLimit: 3).sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            _ = try await (first, second)
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let result = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .intact(20, _) = result else { Issue.record("unexpected \(result)"); return }
        }
    }
}
