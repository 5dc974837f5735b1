public import Foundation
import Crypto
import ExtrasBase64

/// Random bearer strings Vigil hands out and keeps only hashed: refresh tokens, `mfa_token`s,
/// enrolment tokens and password links. The prefix says what a token is, so one kind is never
/// mistaken for another (and the logs' redactor recognises them).
public enum OpaqueToken {
    public static let refreshPrefix = "vrt"
    public static let mfaPrefix = "vmt"
    public static let enrollmentPrefix = "vet"
    public static let passwordPrefix = "vpt"

    /// `<prefix>_` followed by 256 random bits, base64url without padding.
    public static func generate(prefix: String) -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return "\(prefix)_\(String(base64Encoding: bytes, options: [.base64UrlAlphabet, .omitPaddingCharacter]))"
    }

    /// What is stored in place of the token: its SHA-256.
    public static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    public static func hasPrefix(_ prefix: String, _ token: String) -> Bool {
        token.hasPrefix("\(prefix)_")
    }
}
