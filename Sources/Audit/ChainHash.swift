import Crypto
public import Foundation

/// The chain rule: `hash = SHA-256(prev_hash ‖ canonical bytes of the entry)`; the first entry's
/// `prev_hash` is 32 zero bytes.
public enum ChainHash {
    public static let genesis = Data(repeating: 0, count: 32)

    public static func hash(previous: Data, canonicalEntry: [UInt8]) -> Data {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: canonicalEntry)
        return Data(hasher.finalize())
    }

}
