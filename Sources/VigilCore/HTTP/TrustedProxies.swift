import Foundation

/// Decides which address a request really came from.
///
/// `X-Forwarded-For` is believed only when the socket peer is a configured proxy; then the chain
/// is walked from the right, skipping trusted proxies, and the first untrusted hop is the client.
/// Anyone can write the header, so believing it from an untrusted peer would let a client choose
/// the IP that rate limits and audit rows see.
public struct TrustedProxies: Sendable, Equatable {
    public let networks: [IPNetwork]

    public init(networks: [IPNetwork]) {
        self.networks = networks
    }

    /// Parses a comma-separated list of CIDRs or single addresses (`VIGIL_TRUSTED_PROXIES`).
    public init(parsing list: String) throws(IPNetwork.ParseError) {
        var networks: [IPNetwork] = []
        for item in list.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            networks.append(try IPNetwork(parsing: trimmed))
        }
        self.networks = networks
    }

    public static let none = TrustedProxies(networks: [])

    public func trusts(_ address: IPAddress) -> Bool {
        networks.contains { $0.contains(address) }
    }

    /// The client address for a request from `peer` carrying `forwardedFor` (`X-Forwarded-For` values).
    public func clientAddress(peer: IPAddress?, forwardedFor: [String]) -> IPAddress? {
        guard let peer, trusts(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var client = peer
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { return client }
            client = address
            if !trusts(address) { return address }
        }
        return client
    }
}
