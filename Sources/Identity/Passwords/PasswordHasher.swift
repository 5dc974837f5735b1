public import HummingbirdBcrypt
public import NIOPosix
import Synchronization

/// bcrypt through HummingbirdBcrypt, run on NIO's thread pool: a cost-12 hash takes about 225 ms,
/// which must not block the async executors.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    let threadPool: NIOThreadPool
    /// A hash of nothing anyone knows: verified against when no account matches, so an unknown
    /// email costs the same time as a wrong password. Made on first need, not at start-up.
    private let decoy = DecoyHash()

    final class DecoyHash: Sendable {
        private let hash = Mutex<String?>(nil)

        func value(cost: UInt8) -> String {
            hash.withLock { hash in
                if let hash { return hash }
                let made = Bcrypt.hash(OpaqueToken.generate(prefix: "decoy"), cost: cost)
                hash = made
                return made
            }
        }
    }

    public init(cost: UInt8, threadPool: NIOThreadPool = .singleton) {
        self.cost = cost
        self.threadPool = threadPool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; a nil hash (no account, or no password set yet) is
    /// checked against the decoy and fails in the same time.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        let (decoy, cost) = (decoy, cost)
        return try await threadPool.runIfActive {
            guard let hash else {
                _ = Bcrypt.verify(password, hash: decoy.value(cost: cost))
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }
}
