import Foundation
public import Logging
import PostgresNIO
import VigilCore

/// Why a tenant could not be created.
public enum TenantProvisioningError: Error, CustomStringConvertible, Sendable, Equatable {
    case alreadyExists(slug: String)
    case hostsTaken([String])
    case noHosts

    public var description: String {
        switch self {
        case .alreadyExists(let slug): return "A tenant with slug '\(slug)' already exists."
        case .hostsTaken(let hosts): return "Host name(s) already used by another tenant: \(hosts.joined(separator: ", "))."
        case .noHosts: return "A tenant needs at least one host name (--host)."
        }
    }
}

/// Creates the server-side objects of Vigil: the catalog, the group roles, and each tenant's
/// database with its owner, application and sequencer roles.
public struct TenantProvisioner: Sendable {
    public let server: DatabaseServer
    public let tenantMigrations: [Migration]

    public init(server: DatabaseServer, tenantMigrations: [Migration]) {
        self.server = server
        self.tenantMigrations = tenantMigrations
    }

    /// Creates the catalog database if missing, the group roles, and migrates the catalog.
    public func prepareCatalog(logger: Logger) async throws {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: "postgres"), logger: logger) { admin in
            let catalog = server.catalogDatabase
            let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = \(catalog)", logger: logger)
                .decode(Int.self).reduce(into: false) { found, _ in found = true }
            if !exists {
                try await admin.query("CREATE DATABASE \(unescaped: quoted(catalog)) TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", logger: logger)
            }
            for group in [TenantName.applicationGroup, TenantName.sequencerGroup] {
                try await createRoleIfMissing(group, login: false, password: nil, inRole: nil, on: admin, logger: logger)
            }
        }
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: server.catalogDatabase), logger: logger) { catalog in
            try await Migrator().migrate(try StorageMigrations.catalog(), on: catalog, database: server.catalogDatabase, logger: logger)
        }
    }

    /// Creates tenant `slug` answering on `hosts`: roles, database, grants, migrations, catalog row.
    ///
    /// The catalog row is written last; a database or role left by an earlier attempt that died
    /// before registering is dropped and made again (it cannot hold data of a tenant that never existed).
    @discardableResult
    public func create(slug: String, hosts: [String], catalog: CatalogStore, logger: Logger) async throws -> TenantRecord {
        try TenantName.validate(slug: slug)
        let hosts = try Array(Set(hosts.map { host throws(TenantName.Invalid) in try TenantName.normalise(host: host) })).sorted()
        guard !hosts.isEmpty else { throw TenantProvisioningError.noHosts }
        if try await catalog.tenant(slug: slug, logger: logger) != nil { throw TenantProvisioningError.alreadyExists(slug: slug) }
        let taken = try await catalog.takenHosts(hosts, logger: logger)
        guard taken.isEmpty else { throw TenantProvisioningError.hostsTaken(taken) }

        let names = TenantName.roles(slug: slug)
        let record = TenantRecord(
            slug: slug,
            databaseName: TenantName.databaseName(slug: slug),
            owner: DatabaseRole(name: names.owner, password: rolePassword()),
            application: DatabaseRole(name: names.application, password: rolePassword()),
            sequencer: DatabaseRole(name: names.sequencer, password: rolePassword()),
            hosts: hosts
        )
        do {
            try await createDatabase(for: record, logger: logger)
            try await PostgresClient.withRunning(server.configuration(role: record.owner, database: record.databaseName), logger: logger) { owner in
                try await Migrator().migrate(tenantMigrations, on: owner, database: record.databaseName, logger: logger)
            }
            try await catalog.insert(record, logger: logger)
        } catch {
            logger.error("Creating the tenant failed; removing what was created", metadata: ["tenant": "\(slug)"])
            try? await dropLeftovers(of: record, logger: logger)
            throw error
        }
        logger.info("Tenant created", metadata: ["tenant": "\(slug)", "database": "\(record.databaseName)"])
        return record
    }

    /// Applies pending tenant migrations to `record`'s database as its owner.
    public func migrate(_ record: TenantRecord, logger: Logger) async throws {
        try await PostgresClient.withRunning(server.configuration(role: record.owner, database: record.databaseName), logger: logger) { owner in
            try await Migrator().migrate(tenantMigrations, on: owner, database: record.databaseName, logger: logger)
        }
    }

    private func createDatabase(for record: TenantRecord, logger: Logger) async throws {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: "postgres"), logger: logger) { admin in
            try await dropLeftovers(of: record, on: admin, logger: logger)
            try await createRoleIfMissing(record.owner.name, login: true, password: record.owner.password, inRole: nil, on: admin, logger: logger)
            try await createRoleIfMissing(record.application.name, login: true, password: record.application.password, inRole: TenantName.applicationGroup, on: admin, logger: logger)
            try await createRoleIfMissing(record.sequencer.name, login: true, password: record.sequencer.password, inRole: TenantName.sequencerGroup, on: admin, logger: logger)
            // On an external server the administrator must be able to act as the owner to give it a database.
            if !server.isEmbedded {
                try await admin.query("GRANT \(unescaped: quoted(record.owner.name)) TO CURRENT_USER", logger: logger)
            }
            let database = quoted(record.databaseName)
            try await admin.query(
                "CREATE DATABASE \(unescaped: database) OWNER \(unescaped: quoted(record.owner.name)) TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
                logger: logger
            )
            try await admin.query("REVOKE ALL ON DATABASE \(unescaped: database) FROM PUBLIC", logger: logger)
            try await admin.query(
                "GRANT CONNECT ON DATABASE \(unescaped: database) TO \(unescaped: quoted(record.application.name)), \(unescaped: quoted(record.sequencer.name))",
                logger: logger
            )
        }
    }

    private func dropLeftovers(of record: TenantRecord, logger: Logger) async throws {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: "postgres"), logger: logger) { admin in
            try await dropLeftovers(of: record, on: admin, logger: logger)
        }
    }

    /// Gives every tenant's application and sequencer roles the server's statement limits in the
    /// tenant's database, so a session as them outside the server's pools (psql, another process)
    /// has them too. Per database: one role's settings row is never written by two starts at once.
    public func applySessionLimits(_ limits: DatabaseLimits, logger: Logger) async throws {
        try await PostgresClient.withRunning(server.configuration(role: server.administrator, database: server.catalogDatabase), logger: logger) { admin in
            for record in try await CatalogStore(client: DatabasePool(postgres: admin)).all(logger: logger) {
                for role in [record.application.name, record.sequencer.name] {
                    // The values are whole milliseconds this process formatted.
                    for (setting, value) in limits.sessionSettings {
                        try await admin.query(
                            PostgresQuery(unsafeSQL: "ALTER ROLE \(quoted(role)) IN DATABASE \(quoted(record.databaseName)) SET \(setting) = '\(value)'"),
                            logger: logger
                        )
                    }
                }
            }
        }
    }

    private func dropLeftovers(of record: TenantRecord, on admin: PostgresClient, logger: Logger) async throws {
        try await admin.query("DROP DATABASE IF EXISTS \(unescaped: quoted(record.databaseName)) WITH (FORCE)", logger: logger)
        for role in [record.owner.name, record.application.name, record.sequencer.name] {
            try await admin.query("DROP ROLE IF EXISTS \(unescaped: quoted(role))", logger: logger)
        }
    }

    private func createRoleIfMissing(
        _ name: String, login: Bool, password: String?, inRole group: String?, on admin: PostgresClient, logger: Logger
    ) async throws {
        let exists = try await admin.query("SELECT 1 FROM pg_roles WHERE rolname = \(name)", logger: logger)
            .decode(Int.self).reduce(into: false) { found, _ in found = true }
        if exists { return }
        // INHERIT: the application and sequencer roles use their group's table privileges, the
        // owner those of pg_database_owner (which owns schema public).
        var statement = "CREATE ROLE \(quoted(name)) \(login ? "LOGIN" : "NOLOGIN") NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT"
        if let password, !server.isEmbedded { statement += " PASSWORD '\(password)'" }
        if let group { statement += " IN ROLE \(quoted(group))" }
        do {
            try await admin.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42710" {
            // Created meanwhile by a concurrent provisioning: the role exists, which is what we want.
        }
    }

    /// Role passwords are random hex, so they never need escaping inside `PASSWORD '…'`.
    private func rolePassword() -> String? {
        guard !server.isEmbedded else { return nil }
        var generator = SystemRandomNumberGenerator()
        return Hex.string((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Identifiers here come from validated slugs and fixed prefixes; quoting is belt and braces.
    private func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
