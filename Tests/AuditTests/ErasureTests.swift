import Audit
import Foundation
import PostgresNIO
import Testing
import VigilCore
import VigilStorage
import VigilTesting

@Suite struct ErasureTests {
    static let email = "ann.canary@example.org"
    static let phone = "+44 20 7946 0958"
    static let name = "Annabelle Canarywood"
    static let ip = "203.0.113.77"
    static let userAgent = "CanaryBrowser/9.9"

    /// Every row of the trail, the outbox and the keyring as text, for grepping.
    static func everyRow(_ fixture: TenantFixture) async throws -> String {
        try await fixture.superuser { client in
            var text = ""
            for table in ["audit_entries", "outbox_events", "audit_chain", "outbox_positions", "customer_keys", "keyring_tenant_keys"] {
                let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(table) t"), logger: fixture.logger)
                for try await row in rows.decode(String.self) { text += row + "\n" }
            }
            return text
        }
    }

    static func writeAboutCustomer(_ customer: UUID, fixture: TenantFixture) async throws {
        let actor = AuditActor(kind: .customer, id: customer.uuidString.lowercased(), sessionID: "sess-1", ip: ip, userAgent: userAgent)
        try await fixture.tenant.write(WriteContext(actor: actor, requestID: "r1", sourceService: "customers"), logger: fixture.logger) { unit in
            try await unit.record(
                AuditRecord(
                    action: "customer.updated", entityType: "customer", entityID: customer.uuidString, customerID: customer,
                    reason: "Customer \(name) asked by phone \(phone)",
                    before: ["email": .string("old.\(email)"), "status": "lead"],
                    after: ["email": .string(email), "phone": .string(phone), "first_name": .string(name), "status": "active", "address": ["city": "Leeds"]],
                    details: ["comment": .string("called \(name)"), "kyc_status": "pending"]
                )
            )
            try await unit.emit(
                OutboxEvent(aggregateType: "customer", aggregateID: customer.uuidString, type: "customer.updated", payload: ["customer_id": .identifier(customer), "status": .code("active")])
            )
        }
    }

    @Test func sealedFieldsReadBackUntilTheKeyIsDestroyedAndHashesStillVerify() async throws {
        try await TenantFixture.audit { fixture in
            let customer = UUID()
            try await Self.writeAboutCustomer(customer, fixture: fixture)
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)

            // Stored: sealed, so no clear PII anywhere, but allow-listed fields stay readable.
            var stored = try await Self.everyRow(fixture)
            for canary in [Self.email, Self.phone, Self.name, "Annabelle", Self.ip, Self.userAgent, "Leeds"] {
                #expect(!stored.contains(canary), "\(canary) is stored in clear")
            }
            #expect(stored.replacingOccurrences(of: " ", with: "").contains("\"kyc_status\":\"pending\""))

            // Read: unsealed with the customer's key.
            let trail = AuditTrail(tenant: fixture.tenant)
            let readable = try #require(try await trail.entries(aboutCustomer: customer, logger: fixture.logger).first)
            #expect(readable.erasedFields.isEmpty)
            #expect(readable.entry.record.after?["email"] == .string(Self.email))
            #expect(readable.entry.record.after?["address"] == ["city": "Leeds"])
            #expect(readable.entry.record.before?["status"] == "lead")
            #expect(readable.entry.record.reason == "Customer \(Self.name) asked by phone \(Self.phone)")
            #expect(readable.entry.actor.ip == Self.ip && readable.entry.actor.userAgent == Self.userAgent)

            // Erase: destroy the key in an audited unit of work.
            try await fixture.tenant.write(.system("erasure"), logger: fixture.logger) { unit in
                #expect(try await unit.destroyCustomerKeys(customer) == 1)
                try await unit.record(AuditRecord(action: "customer.erased", entityType: "customer", entityID: customer.uuidString, customerID: customer, reasonCode: "gdpr_art17"))
                try await unit.emit(OutboxEvent(aggregateType: "customer", aggregateID: customer.uuidString, type: "customer.erased", payload: ["customer_id": .identifier(customer)]))
            }
            try await AuditSequencer().sequenceAll(on: fixture.sequencerClient, logger: fixture.logger)

            let erased = try await trail.entries(aboutCustomer: customer, logger: fixture.logger)
            #expect(erased.count == 2)
            let first = try #require(erased.first)
            #expect(Set(first.erasedFields) == ["before.email", "after.email", "after.phone", "after.first_name", "after.address", "details.comment", "reason", "actor.ip", "actor.user_agent"])
            #expect(first.entry.record.after == ["status": "active"])
            #expect(first.entry.record.reason == nil && first.entry.actor.ip == nil)

            stored = try await Self.everyRow(fixture)
            for canary in [Self.email, Self.phone, Self.name, Self.ip, Self.userAgent] {
                #expect(!stored.contains(canary))
            }
            let result = try await ChainVerifier().verify(on: fixture.tenant.client, logger: fixture.logger)
            guard case .intact(2, _) = result else { Issue.record("unexpected \(result)"); return }

            // Nothing personal can be written about them any more.
            await #expect(throws: UnitOfWorkError.self) { try await Self.writeAboutCustomer(customer, fixture: fixture) }
        }
    }

    @Test func aKeyDestroyedByAnotherProcessIsNotUsedFromThisOnesCache() async throws {
        let masterKey = MasterKey.generate()
        try await TenantFixture.audit(masterKey: masterKey) { fixture in
            let customer = UUID()
            // This process writes twice, so the customer's key is cached from a committed row.
            try await Self.writeAboutCustomer(customer, fixture: fixture)
            try await Self.writeAboutCustomer(customer, fixture: fixture)
            #expect(fixture.tenant.keyring.cachedCustomerKey(customer, database: fixture.tenant.databaseName) != nil)
            // "Another process": its own keyring on the same tenant database destroys the key.
            let other = TenantDatabase(
                slug: fixture.tenant.slug, databaseName: fixture.tenant.databaseName, client: fixture.tenant.client,
                keyring: Keyring(masterKey: masterKey), commitSignal: CommitSignal()
            )
            try await other.write(.system("erasure"), logger: fixture.logger) { unit in
                _ = try await unit.destroyCustomerKeys(customer)
                try await unit.record(AuditRecord(action: "customer.erased", entityType: "customer", customerID: customer))
                try await unit.emit(OutboxEvent(aggregateType: "customer", aggregateID: customer.uuidString, type: "customer.erased", payload: [:]))
            }
            await #expect(throws: UnitOfWorkError.self) { try await Self.writeAboutCustomer(customer, fixture: fixture) }
            #expect(fixture.tenant.keyring.cachedCustomerKey(customer, database: fixture.tenant.databaseName) == nil)
            #expect(try await fixture.count("SELECT count(*) FROM audit_entries WHERE action = 'customer.updated'") == 2)
        }
    }

    @Test func aSealedFieldDoesNotOpenInAnotherPlace() throws {
        let key = SymmetricKeyFixture.key
        let customer = UUID()
        let sealed = try SealedValue.seal("ann@example.org", key: key, keyVersion: 1, additionalData: EntrySealer.additionalData(customerID: customer, field: "after.email"))
        #expect(try SealedValue.open(sealed, key: key, additionalData: EntrySealer.additionalData(customerID: customer, field: "after.email")) == "ann@example.org")
        #expect(throws: (any Error).self) {
            try SealedValue.open(sealed, key: key, additionalData: EntrySealer.additionalData(customerID: customer, field: "after.phone"))
        }
        #expect(throws: (any Error).self) {
            try SealedValue.open(sealed, key: key, additionalData: EntrySealer.additionalData(customerID: UUID(), field: "after.email"))
        }
        #expect(SealedValue.keyVersion(of: sealed) == 1)
    }

    @Test func unknownIdentifiersAreStoredAsKeyedDigests() async throws {
        try await TenantFixture.audit { fixture in
            let digests = try await fixture.tenant.write(.system("identity"), logger: fixture.logger) { unit -> [String] in
                let first = try unit.identifierDigest("Ghost@Example.org ")
                let second = try unit.identifierDigest("ghost@example.org")
                let other = try unit.identifierDigest("other@example.org")
                try await unit.record(AuditRecord(action: "login.failed", entityType: "session", reasonCode: "unknown_identifier", details: ["identifier_digest": .string(first)]))
                try await unit.emit(OutboxEvent(aggregateType: "session", aggregateID: "none", type: "user.login_failed", payload: ["reason_code": .code("unknown_identifier")]))
                return [first, second, other]
            }
            #expect(digests[0] == digests[1] && digests[0] != digests[2])
            #expect(digests[0].hasPrefix("hmac:v1:1:") && digests[0].count == "hmac:v1:1:".count + 64)
            #expect(!(try await Self.everyRow(fixture)).lowercased().contains("ghost@example.org"))
        }
    }

    @Test func aDifferentMasterKeyCannotOpenTheTenantKey() async throws {
        let server = try await TestPostgres.shared.environment(
            migrations: try auditTestMigrations(), tenants: ["k": ["k.test"]]
        )
        let logger = TestPostgres.logger
        for (index, key) in [MasterKey.generate(), MasterKey.generate()].enumerated() {
            let directory = TenantDirectory(server: server, poolSize: 2, keyring: Keyring(masterKey: key), logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await directory.run() }
                defer { group.cancelAll() }
                let tenant = try #require(try await directory.tenant(slug: "k"))
                if index == 0 {
                    try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
                } else {
                    await #expect(throws: KeyringError.self) {
                        try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
                    }
                }
            }
        }
    }
}

import Crypto

enum SymmetricKeyFixture {
    static let key = SymmetricKey(size: .bits256)
}
