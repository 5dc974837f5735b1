import Foundation
import Identity
import Subprocess
import Testing
import VigilCore

/// The pure rules of identity, table-driven, and TOTP checked against an independent
/// implementation (`oathtool` from Debian).
@Suite struct IdentityRulesTests {
    @Test(arguments: [(1, 60.0), (2, 120.0), (3, 240.0), (6, 1920.0), (7, 3600.0), (40, 3600.0)])
    func lockDurationsDoubleFromOneMinuteToOneHour(lockout: Int, seconds: Double) {
        #expect(LockoutPolicy().lockDuration(lockout: lockout) == seconds)
    }

    @Test(arguments: [
        ("short", "a@b.test", PasswordRuleViolation?.some(.tooShort)),
        ("someone@example.test", "someone@example.test", .equalsEmail),
        ("SomeOne@Example.test", "someone@example.test", .equalsEmail),
        ("someone.local", "someone.local@example.test", .equalsEmail),
        ("password1234", "a@b.test", .common),
        ("Qwerty123456", "a@b.test", .common),
        (String(repeating: "é", count: 40), "a@b.test", .tooLong),
        ("correct horse battery", "a@b.test", nil),
    ])
    func passwordPolicy(password: String, email: String, expected: PasswordRuleViolation?) {
        #expect(PasswordPolicy.violation(password: password, email: email) == expected)
    }

    /// RFC 6238 appendix B (SHA-1, key "12345678901234567890"): the 8-digit codes' last six digits.
    @Test(arguments: [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"), (2_000_000_000, "279037")])
    func totpMatchesRFC6238(time: Int, code: String) {
        let secret = TOTPSecret(ascii: "12345678901234567890")
        #expect(TOTPCode.code(secret: secret, step: TOTPCode.step(at: Date(timeIntervalSince1970: Double(time)))) == code)
    }

    @Test func codesAreAcceptedOneStepEitherSideAndNeverAgain() {
        let secret = TOTPSecret.generate()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let step = TOTPCode.step(at: now)
        for offset in Int64(-1)...1 {
            let code = TOTPCode.code(secret: secret, step: step + offset)
            #expect(TOTPCode.acceptedStep(for: code, secret: secret, at: now, lastUsedStep: nil) == step + offset)
            #expect(TOTPCode.acceptedStep(for: code, secret: secret, at: now, lastUsedStep: step + offset) == nil)
        }
        for offset in [Int64(-2), 2] {
            #expect(TOTPCode.acceptedStep(for: TOTPCode.code(secret: secret, step: step + offset), secret: secret, at: now, lastUsedStep: nil) == nil)
        }
        #expect(TOTPCode.acceptedStep(for: "12345", secret: secret, at: now, lastUsedStep: nil) == nil)
        #expect(TOTPCode.acceptedStep(for: "abcdef", secret: secret, at: now, lastUsedStep: nil) == nil)
    }

    @Test func oathtoolComputesTheSameCodesFromTheBase32Secret() async throws {
        let secret = TOTPSecret.generate()
        for time in [1_700_000_000, 1_800_000_015, 1_900_000_029] {
            let result = try await Subprocess.run(
                .name("oathtool"), arguments: ["--totp", "-b", "--now", "@\(time)", secret.base32], output: .string(limit: 4096)
            )
            #expect(result.terminationStatus.isSuccess)
            let expected = TOTPCode.code(secret: secret, step: TOTPCode.step(at: Date(timeIntervalSince1970: Double(time))))
            #expect(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
        }
    }

    @Test func theProvisioningURIIsATOTPURIWithTheBase32Secret() throws {
        let secret = TOTPSecret(ascii: "12345678901234567890")
        let uri = secret.provisioningURI(account: "ann@broker.test", issuer: "Vigil")
        #expect(uri.hasPrefix("otpauth://totp/Vigil:ann@broker.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
        #expect(uri.contains("issuer=Vigil"))
        let svg = try #require(QRCodeSVG.render(uri))
        #expect(svg.hasPrefix("<svg") && svg.contains("<path"))
    }

    @Test(arguments: [
        (" A1B2-c3d4 ", "a1b2c3d4", true), ("a1b2c3d", "a1b2c3d", false), ("a1b2c3d!", "a1b2c3d!", false),
    ])
    func backupCodesAreReadAsPeopleTypeThem(typed: String, normalised: String, valid: Bool) {
        #expect(BackupCodes.normalised(typed) == normalised)
        #expect(BackupCodes.looksLikeCode(normalised) == valid)
    }

    @Test func backupCodesAreTenDistinctEightCharacterCodes() {
        let codes = BackupCodes.generate()
        #expect(codes.count == 10 && Set(codes).count == 10)
        #expect(codes.allSatisfy(BackupCodes.looksLikeCode))
    }

    @Test(arguments: [
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0", "Edge on Windows"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"),
        ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36", "Chrome on Android"),
        ("curl/8.5.0", "curl"),
        ("", "Unknown device"),
    ])
    func deviceLabels(userAgent: String, label: String) {
        #expect(DeviceLabel.label(userAgent: userAgent) == label)
    }

    @Test(arguments: [("8.8.8.8", "US"), ("127.0.0.1", nil), ("10.1.2.3", nil), ("::1", nil)])
    func countriesComeFromDebiansGeoIPDatabase(address: String, country: String?) throws {
        #expect(CountryLookup.shared.country(of: try #require(IPAddress(address))) == country)
    }

    @Test func opaqueTokensCarryTheirKindAndAreStoredAsHashes() {
        let token = OpaqueToken.generate(prefix: OpaqueToken.refreshPrefix)
        #expect(OpaqueToken.hasPrefix(OpaqueToken.refreshPrefix, token))
        #expect(!OpaqueToken.hasPrefix(OpaqueToken.mfaPrefix, token))
        #expect(token.count == 4 + 43)
        #expect(OpaqueToken.hash(token).count == 32)
        #expect(OpaqueToken.generate(prefix: "x") != OpaqueToken.generate(prefix: "x"))
    }
}
