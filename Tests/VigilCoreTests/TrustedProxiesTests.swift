import Testing

@testable import VigilCore

@Suite struct TrustedProxiesTests {
    static let proxies = try! TrustedProxies(parsing: "10.0.0.0/8, 192.168.1.5, fd00::/8")

    @Test(arguments: [
        // peer, X-Forwarded-For values, expected client
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),  // untrusted peer: header ignored
        ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
        ("10.1.2.3", ["198.51.100.1, 10.9.9.9"], "198.51.100.1"),  // skip trusted hops from the right
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  // leftmost is client-written: not believed
        ("10.1.2.3", ["198.51.100.1", "10.2.2.2"], "198.51.100.1"),  // several header lines
        ("10.1.2.3", ["garbage"], "10.1.2.3"),
        ("10.1.2.3", [], "10.1.2.3"),
        ("192.168.1.5", ["2001:db8::1"], "2001:db8::1"),
        ("192.168.1.6", ["2001:db8::1"], "192.168.1.6"),
        ("fd12::1", ["[2001:db8::2]"], "2001:db8::2"),
        ("::ffff:10.0.0.1", ["198.51.100.9"], "198.51.100.9"),  // IPv4-mapped peer
    ])
    func theClientIsTheFirstUntrustedHop(peer: String, forwardedFor: [String], expected: String) {
        let client = Self.proxies.clientAddress(peer: IPAddress(peer), forwardedFor: forwardedFor)
        #expect(client == IPAddress(expected))
    }

    @Test(arguments: ["10.0.0.0/33", "nonsense", "1.2.3.4/x", "::1/129"])
    func anInvalidListIsRefused(list: String) {
        #expect(throws: IPNetwork.ParseError.self) { try TrustedProxies(parsing: list) }
    }

    @Test func addressesPrintInCanonicalForm() {
        #expect(IPAddress("::ffff:10.0.0.1")?.description == "10.0.0.1")
        #expect(IPAddress("2001:0db8:0000::0001")?.description == "2001:db8::1")
    }
}
