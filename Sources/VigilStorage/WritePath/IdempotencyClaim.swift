import Crypto
public import Foundation
import Synchronization

/// A request's `Idempotency-Key` with the scope it is remembered in and the hash of what was asked.
///
/// Scope: the tenant (its own database), the principal (empty for callers without one, such as a
/// registration), the route and the key. The request hash covers method, path with query, and raw body.
public struct IdempotencyClaim: Sendable, Equatable {
    public let principal: String
    public let route: String
    public let key: String
    public let requestHash: Data
    /// Set when a unit of work stores the response: a successful answer under a claim that was
    /// never stored means the handler wrote some other way, and a retry would run twice.
    public let receipt = Receipt()

    /// Whether the claim's response was stored.
    public final class Receipt: Sendable {
        private let stored = Mutex(false)
        public var isStored: Bool { stored.withLock { $0 } }
        func markStored() { stored.withLock { $0 = true } }
    }

    public static func == (lhs: IdempotencyClaim, rhs: IdempotencyClaim) -> Bool {
        lhs.principal == rhs.principal && lhs.route == rhs.route && lhs.key == rhs.key && lhs.requestHash == rhs.requestHash
    }

    /// How long a stored response is replayed.
    public static let retention: Duration = .seconds(24 * 60 * 60)

    public init(principal: String, route: String, key: String, method: String, path: String, body: some Sequence<UInt8>) {
        self.principal = principal
        self.route = route
        self.key = key
        var hasher = SHA256()
        for part in [method, path] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        hasher.update(data: Data(body))
        requestHash = Data(hasher.finalize())
    }

    /// Whether `key` is a usable `Idempotency-Key`: 1–255 visible ASCII characters.
    public static func isValidKey(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }

    /// The advisory lock that lets exactly one request with this scope and key run at a time.
    var lockKey: Int64 {
        var hasher = SHA256()
        for part in ["idempotency", principal, route, key] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }
}

/// A successful response kept for replay.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: Data

    public init(status: Int, contentType: String?, body: Data) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// Thrown when a request repeats an `Idempotency-Key` whose first response is stored: the answer
/// is that response again, and nothing is written.
public struct IdempotentReplay: Error, Sendable {
    public let response: StoredResponse
}
