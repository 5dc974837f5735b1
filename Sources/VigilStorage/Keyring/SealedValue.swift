public import Crypto
public import Foundation
public import VigilCore

/// The sealed form of a JSON value: `sealed:v1:<key version>:<base64(nonce ‖ ciphertext ‖ tag)>`.
///
/// The plaintext is the value's canonical JSON; the additional data names the customer and the
/// field, so a ciphertext moved to another field or another customer's entry does not open.
public enum SealedValue {
    public static let prefix = "sealed:v1:"

    /// Whether `text` has the sealed form (it may still fail to open).
    public static func isSealed(_ text: String) -> Bool {
        text.hasPrefix(prefix)
    }

    public static func seal(_ value: JSONValue, key: SymmetricKey, keyVersion: Int, additionalData: String) throws -> String {
        let box = try AES.GCM.seal(CanonicalJSON.bytes(of: value), using: key, authenticating: Data(additionalData.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return "\(prefix)\(keyVersion):\(combined.base64EncodedString())"
    }

    /// The key version a sealed string names, or nil when it is not one.
    public static func keyVersion(of text: String) -> Int? {
        guard isSealed(text) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        return Int(rest[rest.startIndex..<colon])
    }

    public static func open(_ text: String, key: SymmetricKey, additionalData: String) throws -> JSONValue {
        guard isSealed(text) else { throw CryptoKitError.incorrectParameterSize }
        let rest = text.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":"), let combined = Data(base64Encoded: String(rest[rest.index(after: colon)...])) else {
            throw CryptoKitError.incorrectParameterSize
        }
        let plaintext = try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key, authenticating: Data(additionalData.utf8))
        return try JSONDecoder().decode(JSONValue.self, from: plaintext)
    }
}
