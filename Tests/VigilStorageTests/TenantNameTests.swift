import Testing

@testable import VigilStorage

@Suite struct TenantNameTests {
    @Test(arguments: ["demo", "eu-broker", "a", "b2b", "x1-y2-z3", String(repeating: "a", count: 32)])
    func validSlugsAreAccepted(slug: String) throws {
        try TenantName.validate(slug: slug)
    }

    @Test(arguments: ["", "Demo", "1abc", "-a", "a-", "a--b", "a_b", "a b", "a;drop", String(repeating: "a", count: 33), "é"])
    func invalidSlugsAreRefused(slug: String) {
        #expect(throws: TenantName.Invalid.slug(slug)) { try TenantName.validate(slug: slug) }
    }

    @Test(arguments: [
        ("Broker.Example", "broker.example"), ("localhost", "localhost"), ("127.0.0.1", "127.0.0.1"), ("a-b.c", "a-b.c"),
    ])
    func hostsAreLowercased(host: String, expected: String) throws {
        #expect(try TenantName.normalise(host: host) == expected)
    }

    @Test(arguments: ["", "a..b", "-a.b", "a_b.c", "exa mple.com", "x.com/", "a.b-"])
    func invalidHostsAreRefused(host: String) {
        #expect(throws: TenantName.Invalid.host(host)) { try TenantName.normalise(host: host) }
    }

    @Test(arguments: [
        ("broker.example:8080", "broker.example"), ("LOCALHOST", "localhost"), ("127.0.0.1:18080", "127.0.0.1"),
    ])
    func hostHeadersLoseTheirPort(header: String, expected: String) {
        #expect(TenantName.host(fromHeader: header) == expected)
    }

    @Test func identifiersDeriveFromTheSlug() {
        #expect(TenantName.databaseName(slug: "eu-broker") == "vigil_t_eu_broker")
        let roles = TenantName.roles(slug: "eu-broker")
        #expect([roles.owner, roles.application, roles.sequencer] == ["vigil_t_eu_broker_owner", "vigil_t_eu_broker_app", "vigil_t_eu_broker_sequencer"])
    }
}
