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

    /// Lowercase hex, the form hashes are shown in.
    public static func hex(_ bytes: Data) -> String {
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
