public import Configuration
import Foundation
public import Logging
public import VigilCore
public import VigilHTTP
public import VigilStorage
import NIOCore

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
    public var maxBodyBytes: Int = VigilRequestContext.defaultMaxUploadSize
    /// `VIGIL_DB_POOL_SIZE`: connections per tenant pool (see docs/operations.md for the arithmetic).
    public var poolSize: Int = 10
    /// `VIGIL_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: Logger.Level = .info
    /// `VIGIL_MASTER_KEY_FILE`: a file (mode 0600) holding the 32-byte master key as base64 or hex.
    public var masterKeyFile: String?
    /// `VIGIL_MASTER_KEY`: the master key itself, for secret stores that inject variables.
    public var masterKey: String?
    /// `VIGIL_HTTP_*`: connection timeouts and the connection cap.
    public var edge = HTTPEdgeSettings()
    /// `VIGIL_DB_ACQUIRE_TIMEOUT`, `VIGIL_DB_STATEMENT_TIMEOUT`.
    public var databaseLimits = DatabaseLimits()
    /// `VIGIL_METRICS_ALLOW`, `VIGIL_METRICS_TOKEN`: who may read `/metrics`.
    public var metricsAccess = MetricsAccess.loopback

    public init() {}

    public typealias Invalid = InvalidSetting

    /// Reads the `VIGIL_*` environment variables through swift-configuration.
    public static func fromEnvironment(_ reader: ConfigReader = ConfigReader(provider: EnvironmentVariablesProvider())) throws -> AppConfiguration {
        var configuration = AppConfiguration()
        configuration.dataDirectory = reader.string(forKey: "vigil.data.dir", default: configuration.dataDirectory)
        configuration.host = reader.string(forKey: "vigil.host", default: configuration.host)
        configuration.port = try reader.wholeNumber("vigil.port", variable: "VIGIL_PORT", default: configuration.port, range: 1...65535)
        configuration.catalogURL = reader.string(forKey: "vigil.catalog.url", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        if let proxies = reader.string(forKey: "vigil.trusted.proxies") {
            do {
                configuration.trustedProxies = try TrustedProxies(parsing: proxies)
            } catch {
                throw Invalid(description: "VIGIL_TRUSTED_PROXIES: \(error)")
            }
        }
        configuration.maxBodyBytes = try reader.wholeNumber("vigil.max.body.bytes", variable: "VIGIL_MAX_BODY_BYTES", default: configuration.maxBodyBytes, range: 1...(1 << 30)
        )
        configuration.poolSize = try reader.wholeNumber("vigil.db.pool.size", variable: "VIGIL_DB_POOL_SIZE", default: configuration.poolSize, range: 1...100)
        let level = reader.string(forKey: "vigil.log.level", default: configuration.logLevel.rawValue)
        guard let parsed = Logger.Level(rawValue: level) else {
            throw Invalid(description: "VIGIL_LOG_LEVEL: '\(level)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        configuration.logLevel = parsed
        configuration.masterKeyFile = reader.string(forKey: "vigil.master.key.file").flatMap { $0.isEmpty ? nil : $0 }
        configuration.masterKey = reader.string(forKey: "vigil.master.key", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        try configuration.readLimits(reader)
        if configuration.masterKeyFile != nil, configuration.masterKey != nil {
            throw Invalid(description: "set VIGIL_MASTER_KEY_FILE or VIGIL_MASTER_KEY, not both")
        }
        return configuration
    }

    private mutating func readLimits(_ reader: ConfigReader) throws {
        edge.idleTimeout = try reader.timeAmount("vigil.http.idle.timeout", variable: "VIGIL_HTTP_IDLE_TIMEOUT", default: edge.idleTimeout)
        edge.headTimeout = try reader.timeAmount("vigil.http.head.timeout", variable: "VIGIL_HTTP_HEAD_TIMEOUT", default: edge.headTimeout)
        edge.bodyTimeout = try reader.timeAmount("vigil.http.body.timeout", variable: "VIGIL_HTTP_BODY_TIMEOUT", default: edge.bodyTimeout)
        edge.handlerTimeout = try reader.timeAmount("vigil.http.handler.timeout", variable: "VIGIL_HTTP_HANDLER_TIMEOUT", default: edge.handlerTimeout)
        edge.maxConnections = try reader.wholeNumber(
            "vigil.http.max.connections", variable: "VIGIL_HTTP_MAX_CONNECTIONS", default: edge.maxConnections, range: 1...1_000_000
        )
        databaseLimits.acquireTimeout = try reader.seconds(
            "vigil.db.acquire.timeout", variable: "VIGIL_DB_ACQUIRE_TIMEOUT", default: databaseLimits.acquireTimeout, range: 0.1...60
        )
        databaseLimits.statementTimeout = try reader.seconds(
            "vigil.db.statement.timeout", variable: "VIGIL_DB_STATEMENT_TIMEOUT", default: databaseLimits.statementTimeout, range: 0.1...3600
        )
        if let allow = reader.string(forKey: "vigil.metrics.allow") {
            do {
                metricsAccess.allowed = try TrustedProxies(parsing: allow).networks
            } catch {
                throw Invalid(description: "VIGIL_METRICS_ALLOW: \(error)")
            }
        }
        metricsAccess.token = reader.string(forKey: "vigil.metrics.token", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Checks values given on the command line, which bypass the environment's checks.
    public func validated() throws -> AppConfiguration {
        guard (1...65535).contains(port) else { throw Invalid(description: "--port \(port) is not a port from 1 to 65535") }
        guard !host.isEmpty else { throw Invalid(description: "--host may not be empty") }
        return self
    }
}

extension ConfigReader {
    /// A timeout in seconds for the HTTP edge, from a tenth of a second to an hour.
    fileprivate func timeAmount(_ key: ConfigKey, variable: String, default value: TimeAmount) throws(InvalidSetting) -> TimeAmount {
        let duration = try seconds(key, variable: variable, default: .nanoseconds(value.nanoseconds), range: 0.1...3600)
        let (whole, fraction) = duration.components
        return .nanoseconds(whole * 1_000_000_000 + fraction / 1_000_000_000)
    }
}
