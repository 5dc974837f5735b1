import Foundation
import Logging
import Synchronization
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
        ("Authorization: Bearer abcdefgh", "abcdefgh"),
        ("login password=hunter", "hunter"),
        ("replayed vrt_Zm9vYmFyYmF6cXV4cXV1eF9mb29iYXJiYXpxdXhxdXV4 again", "Zm9vYmFyYmF6cXV4cXV1eF9mb29iYXJiYXpxdXhxdXV4"),
        ("link vpt_abcdefghijklmnopqrstuvwxyzABCDEF-_ sent", "abcdefghijklmnopqrstuvwxyzABCDEF"),
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

@Suite struct JSONLogHandlerTests {
    @Test func numbersStayNumbersAndIdentifiersStayReadable() throws {
        let captured = LinesBox()
        var logger = Logger(label: "t") { label in JSONLogHandler(label: label) { line in captured.append(line) } }
        logger[metadataKey: "request.id"] = "7edb2558-2c4a-4797-a97c-2ef814f70173"
        logger.info("request", metadata: ["duration_ms": .stringConvertible(1234.5678), "status": .stringConvertible(200), "email": "jane@example.org"])
        let line = try #require(captured.lines.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["duration_ms"] as? Double == 1234.5678)
        #expect(object["status"] as? Int == 200)
        #expect(object["request.id"] as? String == "7edb2558-2c4a-4797-a97c-2ef814f70173")
        #expect(object["email"] as? String == LogRedactor.mask)
        #expect(object["level"] as? String == "info")
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)
    }
}

final class LinesBox: Sendable {
    private let stored = Mutex<[String]>([])
    var lines: [String] { stored.withLock { $0 } }
    func append(_ line: String) { stored.withLock { $0.append(line) } }
}
