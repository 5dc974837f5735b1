import Testing

@testable import VigilCore

@Suite struct LogRedactorTests {
    @Test(arguments: [
        ("login failed for jane.doe+fx@example.co.uk", "jane.doe+fx@example.co.uk"),
        ("call +44 20 7946 0958 back", "+44 20 7946 0958"),
        ("phone (020) 7946-0958", "7946-0958"),
        ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
        ("iban GB82WEST12345698765432 used", "GB82WEST12345698765432"),
        ("iban DE89 3704 0044 0532 0130 00 used", "DE89 3704 0044 0532 0130 00"),
        ("Authorization: Bearer abc.DEF-123_xyz", "abc.DEF-123_xyz"),
        ("token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "eyJhbGciOiJFZERTQSJ9"),
        ("body password=hunter2&x=1", "hunter2"),
        (#"{"password": "s3cr3t!"}"#, "s3cr3t!"),
        ("api_key: k-123456", "k-123456"),
    ])
    func personalDataAndSecretsAreMasked(text: String, secret: String) {
        let redacted = LogRedactor.redact(text)
        #expect(!redacted.contains(secret))
        #expect(redacted.contains(LogRedactor.mask))
    }

    @Test(arguments: [
        "GET /api/tenant 200",
        "trace 0ab80d6078efb8811520f6fcf873ee5f",
        "request 7edb2558-2c4a-4797-a97c-2ef814f70173",
        "took 12.5 ms, 3 rows",
    ])
    func ordinaryTextIsLeftAlone(text: String) {
        #expect(LogRedactor.redact(text) == text)
    }

    @Test(arguments: [
        ("password", true), ("refresh_token", true), ("Authorization", true), ("totp_code", true),
        ("request.id", false), ("customer_id", false), ("route", false), ("status", false),
    ])
    func secretKeysAreRecognisedByName(key: String, secret: Bool) {
        #expect(LogRedactor.isSecretKey(key) == secret)
    }
}
