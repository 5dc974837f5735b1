public import Configuration
public import Logging
public import VigilCore

/// Everything an operator can set, read once at start from the environment (swift-configuration)
/// and overridden by command-line flags. Secrets never pass through here in clear logs.
public struct AppConfiguration: Sendable {
    /// `VIGIL_DATA_DIR`: the embedded cluster, the lock, generated keys and demo credentials.
    public var dataDirectory: String = "./.vigil"
    /// `VIGIL_HOST`, `VIGIL_PORT`: where the HTTP server listens.
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// `VIGIL_CATALOG_URL`: an external PostgreSQL's catalog database; absent = embedded cluster.
    public var catalogURL: String?
    /// `VIGIL_TRUSTED_PROXIES`: CIDRs whose `X-Forwarded-For` is believed.
    public var trustedProxies: TrustedProxies = .none
    /// `VIGIL_MAX_BODY_BYTES`: the largest request body accepted (default 1 MiB).
    public var maxBodyBytes: Int = 1 << 20
    /// `VIGIL_DB_POOL_SIZE`: connections per tenant pool (see docs/operations.md for the arithmetic).
    public var poolSize: Int = 10
    /// `VIGIL_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: Logger.Level = .info

    public init() {}

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads the `VIGIL_*` environment variables through swift-configuration.
    public static func fromEnvironment(_ reader: ConfigReader = ConfigReader(provider: EnvironmentVariablesProvider())) throws -> AppConfiguration {
        var configuration = AppConfiguration()
        configuration.dataDirectory = reader.string(forKey: "vigil.data.dir", default: configuration.dataDirectory)
        configuration.host = reader.string(forKey: "vigil.host", default: configuration.host)
        configuration.port = reader.int(forKey: "vigil.port", default: configuration.port)
        configuration.catalogURL = reader.string(forKey: "vigil.catalog.url", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        if let proxies = reader.string(forKey: "vigil.trusted.proxies") {
            do {
                configuration.trustedProxies = try TrustedProxies(parsing: proxies)
            } catch {
                throw Invalid(description: "VIGIL_TRUSTED_PROXIES: \(error)")
            }
        }
        configuration.maxBodyBytes = reader.int(forKey: "vigil.max.body.bytes", default: configuration.maxBodyBytes)
        configuration.poolSize = reader.int(forKey: "vigil.db.pool.size", default: configuration.poolSize)
        let level = reader.string(forKey: "vigil.log.level", default: configuration.logLevel.rawValue)
        guard let parsed = Logger.Level(rawValue: level) else {
            throw Invalid(description: "VIGIL_LOG_LEVEL: '\(level)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        configuration.logLevel = parsed
        guard (1...65535).contains(configuration.port) else { throw Invalid(description: "VIGIL_PORT: \(configuration.port) is not a port") }
        guard configuration.maxBodyBytes > 0 else { throw Invalid(description: "VIGIL_MAX_BODY_BYTES must be positive") }
        guard (1...100).contains(configuration.poolSize) else { throw Invalid(description: "VIGIL_DB_POOL_SIZE must be 1–100") }
        return configuration
    }
}
