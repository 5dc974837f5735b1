import ArgumentParser
import Configuration
import Foundation
import Logging
import Metrics
import Prometheus
import Audit
import VigilApp
import VigilCore
import VigilStorage

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: CRM, double-entry ledger and compliance back office for forex/CFD brokers.",
        discussion: environmentHelp + "\nEvery command takes --data-dir DIR (see 'vigil help <command>').",
        version: VigilVersion.current,
        subcommands: [Serve.self, Demo.self, Migrate.self, Tenant.self, User.self, AuditCommand.self, Version.self]
    )
}

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
      VIGIL_LOG_LEVEL         trace|debug|info|notice|warning|error|critical (default info)
      VIGIL_BCRYPT_COST       bcrypt cost of new password hashes, 12 to 16 (default 12)
      VIGIL_MAX_SESSIONS      concurrent sessions per user; a login beyond it ends the oldest (default 3)
      VIGIL_MASTER_KEY_FILE   file (mode 0600) with the 32-byte master key, base64 or 64 hex digits
      VIGIL_MASTER_KEY        the master key itself (set one of the two, not both). Without
                              either, demo and the embedded default generate DATA_DIR/master.key
                              (0600) once and warn; an external catalog requires one.
    """

/// Flags every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (env VIGIL_DATA_DIR, default ./.vigil).")
    var dataDir: String?

    func configuration() throws -> AppConfiguration {
        var configuration: AppConfiguration
        do {
            configuration = try AppConfiguration.fromEnvironment()
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

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage staff users.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a staff user and print their one-time enrolment link.",
            discussion: """
                The user has no password until the link sets it (single use, valid 72 hours); their first login \
                then enrols TOTP. Use it for a new tenant's first admin.
                """
        )

        @OptionGroup var common: CommonOptions
        @Option(help: "The tenant's slug.") var tenant: String
        @Option(help: "The user's email address (their login).") var email: String
        @Option(help: "The user's role (roles gain their permissions with access control).") var role: String = "admin"
        @Option(help: "The user's display name (default: the email).") var name: String?

        func run() async throws {
            let configuration = try common.configuration()
            do {
                let (user, baseURL) = try await VigilRuntime.createStaffUser(
                    tenant: tenant, email: email, name: name, role: role, configuration, logger: commandLogger(configuration)
                )
                print("Created staff user \(user.id.uuidString.lowercased()) (\(email), role \(role)) in tenant \(tenant).")
                print("Enrolment link (single use, valid until \(RFC3339.string(user.expiresAt))):")
                print("  \(baseURL)/enrol#token=\(user.enrolmentToken)")
                print("The link's token sets the password through POST /api/admin/auth/password/set {\"token\",\"password\"}.")
            } catch {
                throw fail(error)
            }
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the audit trail.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute each tenant's hash chain from its entries (docs/audit-format.md).",
            discussion: """
                Prints one line per tenant. Exit status: 0 every chain intact; 1 a chain differs (the line names \
                the first entry that differs, by id and chain_seq); 2 intact, but entries have waited unsequenced \
                for more than 5 s (is a server's sequencer running?); 3 verification could not run.
                """
        )

        @OptionGroup var common: CommonOptions
        @Option(help: "Verify only this tenant.") var tenant: String?

        func run() async throws {
            let configuration = try common.configuration()
            let logger = commandLogger(configuration)
            let results: [(tenant: String, result: ChainVerification)]
            do {
                results = try await VigilRuntime.verifyAudit(tenant: tenant, configuration, logger: logger)
            } catch {
                FileHandle.standardError.write(Data("vigil: \(operatorDescription(of: error))\n".utf8))
                throw ExitCode(3)
            }
            if results.isEmpty { print("no tenants") }
            for (slug, result) in results { print("tenant \(slug): \(result.summary)") }
            // A broken chain outranks a lagging one: 1 if any tenant's chain differs, else 2 if any lags.
            let codes = Set(results.map(\.result.exitCode))
            if codes.contains(1) { throw ExitCode(1) }
            if codes.contains(2) { throw ExitCode(2) }
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
