/// Rules for tenant slugs and host names, and the database identifiers derived from a slug.
public enum TenantName {
    /// Group roles every tenant's login roles belong to; migrations grant to these.
    public static let applicationGroup = "vigil_application"
    public static let sequencerGroup = "vigil_sequencer"

    public enum Invalid: Error, CustomStringConvertible, Sendable, Equatable {
        case slug(String)
        case host(String)

        public var description: String {
            switch self {
            case .slug(let slug):
                return "'\(slug)' is not a valid tenant slug: use 1–32 lowercase letters, digits and single hyphens, starting with a letter"
            case .host(let host):
                return "'\(host)' is not a valid host name"
            }
        }
    }

    public static func validate(slug: String) throws(Invalid) {
        let bytes = Array(slug.utf8)
        guard (1...32).contains(bytes.count), let first = bytes.first, isLetter(first), bytes.last != UInt8(ascii: "-") else {
            throw .slug(slug)
        }
        var previousHyphen = false
        for byte in bytes {
            let hyphen = byte == UInt8(ascii: "-")
            guard isLetter(byte) || isDigit(byte) || hyphen, !(hyphen && previousHyphen) else { throw .slug(slug) }
            previousHyphen = hyphen
        }
    }

    /// Lowercases a host name (without port) and checks it is made of DNS labels.
    public static func normalise(host: String) throws(Invalid) -> String {
        let lowered = host.lowercased()
        let labels = lowered.split(separator: ".", omittingEmptySubsequences: false)
        guard !lowered.isEmpty, lowered.utf8.count <= 253, labels.allSatisfy({ label in
            let bytes = Array(label.utf8)
            return (1...63).contains(bytes.count) && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-")
                && bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
        }) else {
            throw .host(host)
        }
        return lowered
    }

    /// The host name of a `Host` header value: port removed, lowercased; nil when unusable.
    public static func host(fromHeader value: String) -> String? {
        var host = Substring(value)
        if host.hasPrefix("[") { return nil }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        return try? normalise(host: String(host))
    }

    /// Identifier-safe form of a validated slug (`eu-broker` → `eu_broker`).
    static func identifier(_ slug: String) -> String {
        slug.replacingOccurrences(of: "-", with: "_")
    }

    public static func databaseName(slug: String) -> String { "vigil_t_\(identifier(slug))" }

    public static func roles(slug: String) -> (owner: String, application: String, sequencer: String) {
        let base = "vigil_t_\(identifier(slug))"
        return ("\(base)_owner", "\(base)_app", "\(base)_sequencer")
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
