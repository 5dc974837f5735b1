import Configuration
import Testing
import VigilHTTP

@testable import Identity

@Suite struct IdentitySettingsTests {
    static func reader(_ values: [AbsoluteConfigKey: ConfigValue]) -> ConfigReader {
        ConfigReader(provider: InMemoryProvider(values: values))
    }

    @Test func theSpecsDefaultsApplyWhenNothingIsSet() throws {
        let settings = try IdentitySettings.read(from: Self.reader([:]))
        #expect(settings.bcryptCost == 12)
        #expect(settings.maxConcurrentSessions == 3)
    }

    @Test func settingsAreRead() throws {
        let settings = try IdentitySettings.read(from: Self.reader(["vigil.bcrypt.cost": "13", "vigil.max.sessions": "5"]))
        #expect(settings.bcryptCost == 13)
        #expect(settings.maxConcurrentSessions == 5)
    }

    @Test(arguments: [
        ("vigil.bcrypt.cost", "11", "VIGIL_BCRYPT_COST: '11' is not a whole number from 12 to 16"),
        ("vigil.bcrypt.cost", "17", "VIGIL_BCRYPT_COST: '17' is not a whole number from 12 to 16"),
        ("vigil.bcrypt.cost", "twelve", "VIGIL_BCRYPT_COST: 'twelve' is not a whole number from 12 to 16"),
        ("vigil.max.sessions", "0", "VIGIL_MAX_SESSIONS: '0' is not a whole number from 1 to 100"),
    ])
    func aBadValueIsAnErrorNotASilentDefault(key: String, value: String, message: String) {
        #expect(throws: InvalidSetting(description: message)) {
            try IdentitySettings.read(from: Self.reader([AbsoluteConfigKey(stringLiteral: key): ConfigValue(stringLiteral: value)]))
        }
    }
}
