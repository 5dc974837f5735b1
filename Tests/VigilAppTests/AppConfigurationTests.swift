import Configuration
import Testing
import VigilApp
import VigilCore

@Suite struct AppConfigurationTests {
    static func reader(_ values: [AbsoluteConfigKey: ConfigValue]) -> ConfigReader {
        ConfigReader(provider: InMemoryProvider(values: values))
    }

    @Test func defaultsApplyWhenNothingIsSet() throws {
        let configuration = try AppConfiguration.fromEnvironment(Self.reader([:]))
        #expect(configuration.dataDirectory == "./.vigil")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.catalogURL == nil)
        #expect(configuration.maxBodyBytes == 1 << 20)
        #expect(configuration.poolSize == 10)
        #expect(configuration.trustedProxies == .none)
    }

    @Test func settingsAreRead() throws {
        let configuration = try AppConfiguration.fromEnvironment(
            Self.reader([
                "vigil.data.dir": "/srv/vigil", "vigil.port": "9090", "vigil.db.pool.size": "4",
                "vigil.trusted.proxies": "10.0.0.0/8", "vigil.log.level": "debug", "vigil.catalog.url": "postgresql://u@h/db",
            ])
        )
        #expect(configuration.dataDirectory == "/srv/vigil")
        #expect(configuration.port == 9090)
        #expect(configuration.poolSize == 4)
        #expect(configuration.trustedProxies == (try TrustedProxies(parsing: "10.0.0.0/8")))
        #expect(configuration.logLevel == .debug)
        #expect(configuration.catalogURL == "postgresql://u@h/db")
    }

    @Test(arguments: [
        ("vigil.port", "eighty"), ("vigil.port", "0"), ("vigil.port", "70000"), ("vigil.max.body.bytes", "-1"),
        ("vigil.db.pool.size", "lots"), ("vigil.db.pool.size", "0"), ("vigil.trusted.proxies", "/"), ("vigil.log.level", "loud"),
    ])
    func aBadValueIsAnErrorNotASilentDefault(key: String, value: String) {
        #expect(throws: AppConfiguration.Invalid.self) {
            try AppConfiguration.fromEnvironment(Self.reader([AbsoluteConfigKey(stringLiteral: key): ConfigValue(stringLiteral: value)]))
        }
    }
}
