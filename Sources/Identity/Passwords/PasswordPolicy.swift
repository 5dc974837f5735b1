/// Why a new password was refused (spec 02: ≥ 12 characters, not the email, not a common password).
public enum PasswordRuleViolation: String, Sendable, Equatable {
    case tooShort = "too-short"
    case tooLong = "too-long"
    case equalsEmail = "equals-email"
    case common = "common-password"

    public var detail: String {
        switch self {
        case .tooShort: return "A password has at least \(PasswordPolicy.minimumLength) characters."
        case .tooLong: return "A password has at most \(PasswordPolicy.maximumBytes) bytes (bcrypt reads no further)."
        case .equalsEmail: return "A password cannot be the account's email address."
        case .common: return "This password is on the list of commonly used passwords; choose another."
        }
    }
}

public enum PasswordPolicy {
    public static let minimumLength = 12
    /// bcrypt ignores everything after 72 bytes: a longer password would be silently truncated.
    public static let maximumBytes = 72

    /// The first rule `password` breaks for the account `email`, or nil when it is acceptable.
    public static func violation(password: String, email: String) -> PasswordRuleViolation? {
        if password.count < minimumLength { return .tooShort }
        if password.utf8.count > maximumBytes { return .tooLong }
        let folded = password.lowercased()
        if folded == email.lowercased() || folded == email.lowercased().split(separator: "@").first.map(String.init) {
            return .equalsEmail
        }
        if commonPasswords.contains(folded) { return .common }
        return nil
    }

    /// Common passwords of 12 characters or more (shorter ones fail the length rule anyway), from
    /// the top of public breach lists.
    static let commonPasswords: Set<String> = [
        "123456789012", "1234567890123", "12345678901234", "123456789abc", "1q2w3e4r5t6y", "1qaz2wsx3edc",
        "aaaaaaaaaaaa", "abc123456789", "abcdefghijkl", "administrator", "changeme1234", "correcthorsebatterystaple",
        "iloveyou1234", "letmein12345", "password1234", "password12345", "password123!", "passw0rd1234",
        "qwerty123456", "qwertyuiop12", "qwertyuiopasdf", "welcome12345", "welcome123!", "trustno1trustno1",
        "football1234", "baseball1234", "superman1234", "sunshine1234", "princess1234", "dragon123456",
        "monkey123456", "master123456", "starwars1234", "whatever1234", "p@ssw0rd1234", "p@ssword1234",
        "000000000000", "111111111111", "qazwsxedcrfv", "zaq12wsxcde3", "asdfghjkl123", "passwordpassword",
        "qwertyqwerty", "letmeinletmein", "forexbroker1", "tradingaccount",
    ]
}
