import VigilCore
public import Foundation
import ExtrasBase64
import HummingbirdOTP

/// RFC 6238 codes (SHA-1, 30 s, 6 digits) through HummingbirdOTP, with the ±1 step tolerance and
/// the replay rule the library leaves to its user.
///
/// HummingbirdOTP keys its HMAC with the secret *string's* UTF-8 bytes, so the secret is a random
/// ASCII string and authenticator apps (and `oathtool -b`) are given the base32 of those bytes.
public struct TOTPSecret: Sendable, Equatable {
    /// The HMAC key as HummingbirdOTP takes it.
    public let ascii: String

    public init(ascii: String) {
        self.ascii = ascii
    }

    /// 32 characters from a 64-symbol alphabet: 192 bits, above RFC 4226's 160-bit recommendation.
    public static func generate() -> TOTPSecret {
        TOTPSecret(ascii: RandomText.make(length: 32, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    }

    /// What an authenticator app is given.
    public var base32: String {
        String(base32Encoding: ascii.utf8, options: .omitPaddingCharacter)
    }

    /// `otpauth://totp/Issuer:account?secret=…&issuer=…`, built by HummingbirdOTP.
    public func provisioningURI(account: String, issuer: String) -> String {
        TOTP(secret: ascii).createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }
}

public enum TOTPCode {
    public static let timeStep: TimeInterval = 30
    /// Steps either side of now that are still accepted (clock drift, a code typed at a boundary).
    public static let tolerance = 1

    public static func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / timeStep).rounded(.down))
    }

    /// The 6-digit code for `step`, zero-padded.
    public static func code(secret: TOTPSecret, step: Int64) -> String {
        let value = TOTP(secret: secret.ascii).compute(date: Date(timeIntervalSince1970: Double(step) * timeStep))
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The step whose code `code` is, within ±``tolerance`` of `date` and later than `lastUsedStep`
    /// (a code already accepted, or an older one, is a replay); nil when none matches.
    public static func acceptedStep(for code: String, secret: TOTPSecret, at date: Date, lastUsedStep: Int64?) -> Int64? {
        guard code.count == 6, code.allSatisfy(\.isASCIIDigit) else { return nil }
        let now = step(at: date)
        for candidate in (now - Int64(tolerance))...(now + Int64(tolerance)) {
            if let lastUsedStep, candidate <= lastUsedStep { continue }
            if ConstantTime.equal(Self.code(secret: secret, step: candidate), code) { return candidate }
        }
        return nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
