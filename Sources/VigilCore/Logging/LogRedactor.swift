/// Masks personal data and secrets in any text before it reaches a log line.
///
/// Logs leave the process (files, syslog, log shippers) and are not sealed: nothing that
/// identifies a customer or unlocks an account may appear in them. The rules are deliberately
/// greedy: a masked order number costs nothing, a leaked email costs a breach report.
public enum LogRedactor {
    public static let mask = "[redacted]"

    /// Metadata keys whose values are secrets whatever they look like.
    static let secretKeyFragments = [
        "password", "passwd", "secret", "token", "authorization", "cookie", "otp", "code", "key",
    ]

    /// Whether a metadata key names a secret (`password`, `refresh_token`, `Authorization`…).
    public static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        if isIdentifierKey(lowered) { return false }
        return secretKeyFragments.contains { lowered.contains($0) }
    }

    /// Keys holding identifiers Vigil generates (request, trace, entity ids): never personal data,
    /// and masking digits inside them would make logs useless for correlation.
    public static func isIdentifierKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered == "id" || lowered.hasSuffix(".id") || lowered.hasSuffix("_id")
    }

    /// The text with emails, phone numbers, bearer/JWT tokens, long digit runs (PAN-like) and
    /// IBAN-like strings replaced by ``mask``.
    public static func redact(_ text: String) -> String {
        guard mightHoldSecret(text) else { return text }
        var result = text
        for pattern in patterns {
            result = result.replacing(pattern) { _ in mask }
        }
        return result
    }

    /// Every pattern below needs a digit, an `@`, or one of these words (lowercased): text with none
    /// of them cannot match, and skipping the regexes keeps the per-request log line cheap.
    static let patternWords = ["eyj", "bearer", "basic", "password", "passwd", "secret", "token", "api", "vrt_", "vmt_", "vet_", "vpt_"]

    static func mightHoldSecret(_ text: String) -> Bool {
        if text.utf8.contains(where: { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "@") }) {
            return true
        }
        let lowered = text.lowercased()
        return patternWords.contains { lowered.contains($0) }
    }

    nonisolated(unsafe) private static let patterns: [Regex<AnyRegexOutput>] = [
        // JSON Web Tokens: three base64url segments, the first starting with `eyJ`.
        try! Regex(#"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"#),
        // Vigil's opaque tokens (refresh, mfa, enrolment, password links): a kind prefix and 256 random bits.
        try! Regex(#"\bv(?:rt|mt|et|pt)_[A-Za-z0-9_-]{20,}"#),
        // Bearer and Basic credentials.
        try! Regex(#"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"#),
        // key=value secrets inside free text (`password=…`, `token: …`).
        try! Regex(#"(?i)(password|passwd|secret|token|api[_-]?key)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+"#),
        // Email addresses.
        try! Regex(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#),
        // IBAN-like: two letters, two digits, 11–30 alphanumerics (spaces allowed in groups of 4).
        try! Regex(#"\b[A-Z]{2}[0-9]{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"#),
        // Phone numbers and card numbers: 7 or more digits, optionally with +, spaces, dots, dashes or parentheses.
        // `\b` keeps digit runs inside hex identifiers (trace ids) intact.
        try! Regex(#"(?:\+|\b)\(?\d(?:[\s().-]?\d){6,}\b"#),
    ]
}
