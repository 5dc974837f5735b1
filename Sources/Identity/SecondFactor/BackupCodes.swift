import VigilCore
public import Foundation
public import Crypto

/// The 10 single-use recovery codes shown once when 2FA is enabled (the seed's shape: eight
/// lowercase letters and digits). Stored as HMAC-SHA256 under a key derived from the tenant key,
/// so a copy of the table alone does not allow guessing them offline.
public enum BackupCodes {
    public static let count = 10
    static let alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

    public static func generate() -> [String] {
        (0..<count).map { _ in RandomText.make(length: 8, from: alphabet) }
    }

    /// Whether `text` has the shape of a backup code (after ``normalised(_:)``).
    public static func looksLikeCode(_ text: String) -> Bool {
        text.count == 8 && text.allSatisfy { alphabet.contains($0) }
    }

    /// Codes are accepted with spaces or dashes and in either case, as people type them.
    public static func normalised(_ text: String) -> String {
        text.lowercased().filter { $0 != " " && $0 != "-" }
    }

    public static func hash(_ code: String, principalID: UUID, tenantKey: SymmetricKey) -> Data {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: tenantKey, info: Data("vigil backup codes v1".utf8), outputByteCount: 32)
        return Data(HMAC<SHA256>.authenticationCode(for: Data("\(principalID.uuidString.lowercased()):\(code)".utf8), using: key))
    }
}
