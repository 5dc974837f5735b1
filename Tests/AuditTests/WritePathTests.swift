import Audit
import Foundation
import PostgresNIO
import Testing
import VigilCore
import VigilStorage
import VigilTesting

@Suite struct WritePathTests {
    @Test func aCommittedChangeHasItsEntryAndEventAndTheSequencerChainsThem() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            var context = WriteContext(actor: AuditActor(kind: .staff, id: "staff-7", sessionID: "s-1", ip: "10.0.0.1", userAgent: "Console/1"))
            context.requestID = "req-1"
            context.traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
            context.sourceService = "widgets"
            let id = try await Widgets.add("first", in: fixture.tenant, context: context, logger: fixture.logger)
            let batch = try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)
            #expect(batch.entries == 1 && batch.events == 1)

            let row = try await fixture.superuser { client in
                try await client.query(
                    """
                    SELECT e.action, e.entity_id, e.actor_type, e.actor_id, e.actor_session_id, e.actor_ip, e.request_id, e.trace_id,
                           e.source_service, c.chain_seq, encode(c.prev_hash, 'hex')
                    FROM audit_entries e JOIN audit_chain c ON c.entry_id = e.id
                    """,
                    logger: fixture.logger
                ).decode((String, String, String, String, String, String, String, String, String, Int64, String).self)
                .reduce(into: [(String, String, String, String, String, String, String, String, String, Int64, String)]()) { $0.append($1) }
            }
            #expect(row.count == 1)
            let entry = try #require(row.first)
            #expect(entry.0 == "widget.created" && entry.1 == id.uuidString)
            #expect(entry.2 == "staff" && entry.3 == "staff-7" && entry.4 == "s-1" && entry.5 == "10.0.0.1")
            #expect(entry.6 == "req-1" && entry.7 == "4bf92f3577b34da6a3ce929d0e0e4736" && entry.8 == "widgets")
            #expect(entry.9 == 1 && entry.10 == String(repeating: "0", count: 64))
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events e JOIN outbox_positions p ON p.event_id = e.id WHERE p.position = 1") == 1)
            let verification = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .intact(1, _) = verification else { Issue.record("unexpected \(verification)"); return }
        }
    }

    @Test func aBodyThatRecordsNothingIsRefusedAndItsChangeRolledBack() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            await #expect(throws: UnitOfWorkError.self) {
                try await fixture.tenant.write(.system("test"), logger: fixture.logger) { unit in
                    try await unit.connection.query("INSERT INTO widgets (id, name) VALUES (\(UUID()), 'sneaky')", logger: unit.logger)
                }
            }
            await #expect(throws: UnitOfWorkError.self) {
                try await fixture.tenant.write(.system("test"), logger: fixture.logger) { unit in
                    try await unit.record(AuditRecord(action: "widget.created", entityType: "widget"))
                }
            }
            #expect(try await fixture.count("SELECT count(*) FROM widgets") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries") == 0)
        }
    }

    @Test func aDomainErrorKeepsItsTypeAndNothingIsWritten() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            await #expect(throws: WidgetRefused(reason: "no")) {
                try await fixture.tenant.write(.system("test"), logger: fixture.logger) { unit in
                    try await unit.connection.query("INSERT INTO widgets (id, name) VALUES (\(UUID()), 'x')", logger: unit.logger)
                    try await unit.record(AuditRecord(action: "widget.created", entityType: "widget"))
                    throw WidgetRefused(reason: "no")
                }
            }
            #expect(try await fixture.count("SELECT count(*) FROM widgets") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries") == 0)
        }
    }

    @Test func aRecordedRefusalRollsBackTheChangeThenCommitsItsCounterEntryAndEvent() async throws {
        try await TenantFixture.audit { fixture in
            try await Widgets.create(in: fixture)
            let widget = try await Widgets.add("w", in: fixture.tenant, logger: fixture.logger)
            await #expect(throws: LockedOut.problem) {
                try await fixture.tenant.write(.system("test"), logger: fixture.logger) { unit in
                    try await unit.connection.query("UPDATE widgets SET name = 'renamed' WHERE id = \(widget)", logger: unit.logger)
                    try await unit.record(AuditRecord(action: "widget.renamed", entityType: "widget"))
                    throw LockedOut(widget: widget)
                }
            }
            #expect(try await fixture.count("SELECT count(*) FROM widgets WHERE name = 'w' AND counter = 1") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'widget.renamed'") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'widget.locked' AND reason_code = 'too_many_attempts'") == 1)
            #expect(try await fixture.count("SELECT count(*) FROM outbox_events WHERE type = 'widget.locked'") == 1)
        }
    }

    @Test func outboxPayloadsRefusePersonalData() async throws {
        let refused: [[String: PayloadValue]] = [
            ["email": .text("ann@example.org")],
            ["customer_id": .identifier("ann@example.org")],
            ["status": .list([.list([.code("x")])])],
            ["first_name": .text("Ann")],
            ["reason_code": .text("+44 20 7946 0958")],
        ]
        for payload in refused {
            #expect(throws: OutboxPayloadViolation.self, "\(payload)") { try OutboxPayloadRules.check(payload) }
        }
        let allowed: [String: PayloadValue] = [
            "customer_id": .identifier("0b6f4c1e-5d1a-4c55-9a43-2f1b3c4d5e6f"), "status": .code("approved"), "amount": .amount("100.00"),
            "count": .count(3), "currency": .identifier("EUR"),
        ]
        try OutboxPayloadRules.check(allowed)
    }

    @Test func balancesMustBeDecimalStrings() async throws {
        _ = try await TenantFixture.audit { fixture in
            await #expect(throws: UnitOfWorkError.self) {
                try await fixture.tenant.write(.system("test"), logger: fixture.logger) { unit in
                    try await unit.record(AuditRecord(action: "x", entityType: "account", balanceBefore: "1e5"))
                    try await unit.emit(OutboxEvent(aggregateType: "account", aggregateID: "1", type: "x", payload: [:]))
                }
            }
        }
    }
}
