import ArgumentParser
import Configuration
import Foundation
import Logging
import Metrics
import Prometheus
import VigilApp
import VigilCore
import VigilHTTP
import VigilStorage

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: CRM, double-entry ledger and compliance back office for forex/CFD brokers.",
        discussion: environmentHelp + "\nEvery command takes --data-dir DIR (see 'vigil help <command>').",
        version: VigilVersion.current,
        subcommands: [Serve.self, Demo.self, Migrate.self, Tenant.self] + VigilDomains.all.flatMap(\.commands) + [Version.self]
    )

    /// Parses like any command; a domain's command then runs with the environment it needs.
    static func main() async {
        HTTPEdgeSettings.raiseDescriptorLimit()
        do {
            var command = try parseAsRoot()
            if let domainCommand = command as? any DomainCommand {
                let configuration = try domainCommand.common.configuration()
                let environment = LiveCommandEnvironment(configuration, configuration: settingsReader, logger: commandLogger(configuration))
                do {
                    try await domainCommand.run(in: environment)
                } catch let exit as ExitCode {
                    throw exit
                } catch {
                    throw fail(error)
                }
            } else if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Where `vigil` and every domain read their settings: the environment.
let settingsReader = ConfigReader(provider: EnvironmentVariablesProvider())

/// Every domain's environment variables, for the help text.
let domainSettingsHelp = VigilDomains.all.flatMap(\.settings).map { setting in
    "  " + setting.variable.padding(toLength: 22, withPad: " ", startingAt: 0) + "  " + setting.help
}.joined(separator: "\n")

/// The configuration every serving command reads, shown by `--help`.
let environmentHelp = """
    Environment variables (flags override them):
      VIGIL_DATA_DIR          data directory (default ./.vigil): embedded PostgreSQL, lock, keys.
                              Run as root, the cluster runs as the 'postgres' user; if that user
                              cannot enter the data directory (e.g. under a 0700 mktemp dir), the
                              cluster and its socket live in /var/lib/vigil/<first 16 hex digits of
                              SHA-256 of the data directory's absolute path> instead.
      VIGIL_HOST, VIGIL_PORT  listen address (default 127.0.0.1:8080)
      VIGIL_CATALOG_URL       external PostgreSQL catalog, postgresql://user:pass@host:port/db
                              (absent: embedded cluster). The role must create databases and roles.
      VIGIL_TRUSTED_PROXIES   comma-separated CIDRs whose X-Forwarded-For is believed
      VIGIL_MAX_BODY_BYTES    largest request body (default 1048576)
      VIGIL_DB_POOL_SIZE      connections per tenant pool (default 10)
      VIGIL_DB_ACQUIRE_TIMEOUT  seconds to wait for a pooled connection before 503 (default 2)
      VIGIL_DB_STATEMENT_TIMEOUT  statement_timeout of the server's sessions in seconds (default 5;
                              idle_in_transaction_session_timeout is twice it)
      VIGIL_HTTP_IDLE_TIMEOUT seconds a connection may sit idle between requests (default 30)
      VIGIL_HTTP_HEAD_TIMEOUT seconds for a request head to arrive once begun (default 10; then 408)
      VIGIL_HTTP_BODY_TIMEOUT seconds for a request body to arrive after its head (default 30)
      VIGIL_HTTP_HANDLER_TIMEOUT  seconds from a request read to its answer beginning (default 4.5;
                              then 503 request-deadline-exceeded and the connection closes)
      VIGIL_HTTP_MAX_CONNECTIONS  open connections at once (default: descriptor limit - 128);
                              beyond it a connection is answered 503 and closed
      VIGIL_METRICS_ALLOW     CIDRs that may read /metrics (default 127.0.0.0/8,::1/128)
      VIGIL_METRICS_TOKEN     bearer token that opens /metrics from anywhere (default none)
      VIGIL_LOG_LEVEL         trace|debug|info|notice|warning|error|critical (default info)
      VIGIL_MASTER_KEY_FILE   file (mode 0600) with the 32-byte master key, base64 or 64 hex digits
      VIGIL_MASTER_KEY        the master key itself (set one of the two, not both). Without
                              either, demo and the embedded default generate DATA_DIR/master.key
                              (0600) once and warn; an external catalog requires one.

    """ + domainSettingsHelp + "\n"

extension CommonOptions {
    /// The configuration from the environment with this command's flags, every domain's settings checked.
    func configuration() throws -> AppConfiguration {
        var configuration: AppConfiguration
        do {
            configuration = try AppConfiguration.fromEnvironment(settingsReader)
            for domain in VigilDomains.all { try domain.checkSettings(settingsReader) }
        } catch {
            throw fail(error)
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        return configuration
    }
}

/// Installs the JSON-lines, redacting log handler and returns the root logger.
func makeLogger(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    var logger = Logger(label: "vigil")
    logger.logLevel = level
    return logger
}

/// Commands other than serve log warnings and worse unless VIGIL_LOG_LEVEL asks for more.
func commandLogger(_ configuration: AppConfiguration) -> Logger {
    let explicit = ProcessInfo.processInfo.environment["VIGIL_LOG_LEVEL"] != nil
    return makeLogger(level: explicit ? configuration.logLevel : .warning)
}

/// Prints an operator-facing error and exits non-zero, without a Swift backtrace.
func fail(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("vigil: \(operatorDescription(of: error))\n".utf8))
    return ExitCode(1)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the API and console (embedded PostgreSQL unless VIGIL_CATALOG_URL is set).",
        discussion: """
            Stops cleanly, with its embedded PostgreSQL, on SIGINT or SIGTERM. A second serve or demo on the \
            same data directory is refused.

            """ + environmentHelp
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Listen address (env VIGIL_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Listen port (env VIGIL_PORT, default 8080).") var port: Int?

    func run() async throws {
        var configuration = try common.configuration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        try await serve(try configuration.validated(), demo: false)
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the demo tenant and data once (deterministically), then serve like 'serve'.",
        discussion: """
            Writes DATA_DIR/demo-credentials.json (mode 0600). Requests to 127.0.0.1 and localhost reach the demo tenant.

            """ + environmentHelp
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Listen port (env VIGIL_PORT, default 8080).") var port: Int?

    func run() async throws {
        var configuration = try common.configuration()
        if let port { configuration.port = port }
        try await serve(try configuration.validated(), demo: true)
    }
}

func serve(_ configuration: AppConfiguration, demo: Bool) async throws {
    let logger = makeLogger(level: configuration.logLevel)
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    do {
        try await VigilRuntime.serve(configuration, demo: demo, logger: logger, metrics: registry)
    } catch {
        throw fail(error)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations to the catalog and every tenant database.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        do {
            try await VigilRuntime.migrate(configuration, logger: commandLogger(configuration))
            print("Migrations are up to date.")
        } catch {
            throw fail(error)
        }
    }
}

struct Tenant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and list tenants (one broker = one tenant = its own database).",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant: its database, roles, migrations and host names.")

        @OptionGroup var common: CommonOptions
        @Argument(help: "Tenant slug: lowercase letters, digits and single hyphens, up to 32.") var slug: String
        @Option(name: .customLong("host"), help: "A host name the tenant answers on (repeatable, at least one).") var hosts: [String] = []

        func run() async throws {
            let configuration = try common.configuration()
            do {
                let listing = try await VigilRuntime.createTenant(slug: slug, hosts: hosts, configuration, logger: commandLogger(configuration))
                print("Created tenant \(listing.slug) (hosts: \(listing.hosts.joined(separator: ", "))).")
            } catch {
                throw fail(error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants with their database URL (as owner) and hosts.")

        @OptionGroup var common: CommonOptions
        @Flag(help: "Print [{\"slug\",\"database_url\",\"hosts\"}] as JSON.") var json = false

        func run() async throws {
            let configuration = try common.configuration()
            let tenants: [TenantListing]
            do {
                tenants = try await VigilRuntime.listTenants(configuration, logger: commandLogger(configuration))
            } catch {
                throw fail(error)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(tenants), as: UTF8.self))
            } else {
                for tenant in tenants {
                    print("\(tenant.slug)\t\(tenant.hosts.joined(separator: ","))\t\(tenant.databaseURL)")
                }
            }
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Vigil's version.")

    @OptionGroup var common: CommonOptions

    func run() {
        print("vigil \(VigilVersion.current)")
    }
}
