public import Logging
public import PostgresNIO

/// The catalog database's SQL: which tenants exist, where their data lives, which hosts they answer.
public struct CatalogStore: Sendable {
    public let client: any DatabaseClient

    public init(client: any DatabaseClient) {
        self.client = client
    }

    public func all(logger: Logger) async throws -> [TenantRecord] {
        try await records(slug: nil, logger: logger)
    }

    public func tenant(slug: String, logger: Logger) async throws -> TenantRecord? {
        try await records(slug: slug, logger: logger).first
    }

    /// Every tenant, or the one with `slug` (through the primary key of `tenants`).
    private func records(slug: String?, logger: Logger) async throws -> [TenantRecord] {
        try await client.withConnection { connection in try await records(slug: slug, on: connection, logger: logger) }
    }

    private func records(slug: String?, on connection: PostgresConnection, logger: Logger) async throws -> [TenantRecord] {
        let rows = try await connection.query(
            """
            SELECT t.slug, t.database_name,
                   t.owner_role, t.owner_password, t.application_role, t.application_password,
                   t.sequencer_role, t.sequencer_password,
                   coalesce(array_agg(h.host ORDER BY h.host) FILTER (WHERE h.host IS NOT NULL), '{}')
            FROM tenants t
            LEFT JOIN tenant_hosts h ON h.tenant_slug = t.slug
            WHERE \(slug)::text IS NULL OR t.slug = \(slug)
            GROUP BY t.slug
            ORDER BY t.slug
            """,
            logger: logger
        )
        var records: [TenantRecord] = []
        for try await row in rows.decode((String, String, String, String?, String, String?, String, String?, [String]).self) {
            records.append(
                TenantRecord(
                    slug: row.0,
                    databaseName: row.1,
                    owner: DatabaseRole(name: row.2, password: row.3),
                    application: DatabaseRole(name: row.4, password: row.5),
                    sequencer: DatabaseRole(name: row.6, password: row.7),
                    hosts: row.8
                )
            )
        }
        return records
    }

    /// The slug of the tenant answering on `host` (uses the primary key of `tenant_hosts`).
    public func slug(forHost host: String, logger: Logger) async throws -> String? {
        try await client.withConnection { connection in
            let rows = try await connection.query("SELECT tenant_slug FROM tenant_hosts WHERE host = \(host)", logger: logger)
            for try await slug in rows.decode(String.self) { return slug }
            return nil
        }
    }

    /// The hosts among `hosts` already taken by some tenant.
    public func takenHosts(_ hosts: [String], logger: Logger) async throws -> [String] {
        try await client.withConnection { connection in
            let rows = try await connection.query("SELECT host FROM tenant_hosts WHERE host = ANY(\(hosts)) ORDER BY host", logger: logger)
            var taken: [String] = []
            for try await host in rows.decode(String.self) { taken.append(host) }
            return taken
        }
    }

    /// Registers a provisioned tenant and its hosts in one transaction.
    public func insert(_ record: TenantRecord, logger: Logger) async throws {
        try await client.inTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO tenants (slug, database_name, owner_role, owner_password, application_role, application_password,
                                     sequencer_role, sequencer_password)
                VALUES (\(record.slug), \(record.databaseName), \(record.owner.name), \(record.owner.password),
                        \(record.application.name), \(record.application.password),
                        \(record.sequencer.name), \(record.sequencer.password))
                """,
                logger: logger
            )
            for host in record.hosts {
                try await connection.query("INSERT INTO tenant_hosts (host, tenant_slug) VALUES (\(host), \(record.slug))", logger: logger)
            }
        }
    }
}
