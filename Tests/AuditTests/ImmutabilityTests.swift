import Audit
import Foundation
import PostgresNIO
import Testing
import VigilStorage
import VigilTesting

@Suite struct ImmutabilityTests {
    @Test func theApplicationRoleCanOnlyAppendAndReadTheTrail() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            try await Widgets.add("w", in: fixture.tenant, logger: fixture.logger)
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let app = fixture.tenant.client
            let logger = fixture.logger
            for statement in [
                "UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries", "TRUNCATE audit_entries",
                "UPDATE outbox_events SET type = 'x'", "DELETE FROM outbox_events", "TRUNCATE outbox_events",
                "INSERT INTO audit_chain (entry_id, chain_seq, prev_hash, hash, horizon) SELECT 1, 99, prev_hash, hash, horizon FROM audit_chain",
                "INSERT INTO outbox_positions (event_id, position, horizon) VALUES (gen_random_uuid(), 99, '1')",
                "UPDATE audit_chain SET chain_seq = 5", "DELETE FROM outbox_positions",
            ] {
                #expect(await app.sqlState(of: statement, logger: logger) == "42501", "\(statement)")
            }
        }
    }

    @Test func theSequencerCannotWriteAPositionTwiceNorChangeOne() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            try await Widgets.add("w", in: fixture.tenant, logger: fixture.logger)
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let sequencer = fixture.sequencerClient
            let logger = fixture.logger
            // A second position for the same entry, or the same position for another, breaks a key.
            #expect(
                await sequencer.sqlState(
                    of: "INSERT INTO audit_chain (entry_id, chain_seq, prev_hash, hash, horizon) SELECT entry_id, 2, prev_hash, hash, horizon FROM audit_chain",
                    logger: logger
                ) == "23505"
            )
            #expect(
                await sequencer.sqlState(
                    of: "INSERT INTO outbox_positions (event_id, position, horizon) SELECT gen_random_uuid(), position, horizon FROM outbox_positions",
                    logger: logger
                ) == "23505"
            )
            for statement in [
                "UPDATE audit_chain SET hash = prev_hash", "DELETE FROM audit_chain", "TRUNCATE audit_chain",
                "UPDATE outbox_positions SET position = 7", "INSERT INTO audit_entries (actor_type, action, entity_type) VALUES ('system', 'forged', 'x')",
            ] {
                #expect(await sequencer.sqlState(of: statement, logger: logger) == "42501", "\(statement)")
            }
        }
    }

    @Test func triggersRefuseChangesEvenToTheSuperuser() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            try await Widgets.add("w", in: fixture.tenant, logger: fixture.logger)
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let states = try await fixture.superuser { client in
                var states: [String?] = []
                for statement in [
                    "UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries", "TRUNCATE audit_entries CASCADE",
                    "UPDATE audit_chain SET chain_seq = 9", "DELETE FROM audit_chain", "TRUNCATE audit_chain",
                    "UPDATE outbox_events SET type = 'x'", "DELETE FROM outbox_events", "TRUNCATE outbox_events",
                    "DELETE FROM outbox_positions",
                ] {
                    states.append(await DatabasePool(postgres: client).sqlState(of: statement, logger: fixture.logger))
                }
                return states
            }
            #expect(states.allSatisfy { $0 == "42501" }, "\(states)")
        }
    }

    @Test func verificationNamesExactlyTheEntryChangedBehindTheTriggersBack() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            for index in 0..<5 { try await Widgets.add("w\(index)", in: fixture.tenant, logger: fixture.logger) }
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            let intact = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            #expect(intact.exitCode == 0)

            let (entryID, chainSeq) = try await fixture.superuser { client in
                try await client.query("SELECT entry_id, chain_seq FROM audit_chain WHERE chain_seq = 3", logger: fixture.logger)
                    .decode((Int64, Int64).self).reduce((Int64(0), Int64(0))) { $1 }
            }
            try await fixture.superuser { client in
                try await client.query("ALTER TABLE audit_entries DISABLE TRIGGER USER", logger: fixture.logger)
                try await client.query("UPDATE audit_entries SET details = '{\"note\":\"edited\"}' WHERE id = \(entryID)", logger: fixture.logger)
                try await client.query("ALTER TABLE audit_entries ENABLE TRIGGER USER", logger: fixture.logger)
            }
            let result = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .broken(let seq, let id, _) = result else {
                Issue.record("expected a broken chain, got \(result)")
                return
            }
            #expect(seq == chainSeq && id == entryID)
            #expect(result.exitCode == 1)
        }
    }

    @Test func verificationReportsEntriesLeftUnsequenced() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            try await Widgets.add("w", in: fixture.tenant, logger: fixture.logger)
            let fresh = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .intact(0, _) = fresh else { Issue.record("a just-committed entry is not late: \(fresh)"); return }
            let late = try await ChainVerifier(unsequencedLimitSeconds: 0).verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .lagging(0, _, 1, _, _) = late else { Issue.record("expected lagging, got \(late)"); return }
            #expect(late.exitCode == 2)
        }
    }
}
