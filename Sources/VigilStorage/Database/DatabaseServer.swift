import Foundation
import NIOSSL
public import PostgresNIO

/// A role Vigil connects as: its name and, on an external server, its password.
public struct DatabaseRole: Sendable, Equatable {
    public let name: String
    public let password: String?

    public init(name: String, password: String?) {
        self.name = name
        self.password = password
    }
}

/// The PostgreSQL server Vigil's catalog and tenant databases live on.
///
/// Embedded: the private cluster's socket, `trust` authentication, the bootstrap superuser as
/// administrator. External (`VIGIL_CATALOG_URL`): the URL's role administers (it must be able to
/// create databases and roles) and its database is the catalog.
public struct DatabaseServer: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case socketDirectory(String)
        case tcp(host: String, port: Int)
    }

    public enum TLSMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public let endpoint: Endpoint
    public let port: Int
    public let administrator: DatabaseRole
    public let catalogDatabase: String
    public let tls: TLSMode
    public let isEmbedded: Bool

    public static func embedded(socketDirectory: String, superuser: String) -> DatabaseServer {
        DatabaseServer(
            endpoint: .socketDirectory(socketDirectory),
            port: ClusterLayout.port,
            administrator: DatabaseRole(name: superuser, password: nil),
            catalogDatabase: "vigil_catalog",
            tls: .disable,
            isEmbedded: true
        )
    }

    public struct URLError: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { "VIGIL_CATALOG_URL is not usable: \(reason)" }
    }

    /// Parses a libpq-style URL: `postgresql://user:password@host:port/database?sslmode=…`;
    /// `?host=/socket/directory` selects a unix socket.
    public static func external(url: String) throws(URLError) -> DatabaseServer {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw URLError(reason: "expected postgresql://user:password@host:port/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw URLError(reason: "the URL names no user")
        }
        let database = components.path.split(separator: "/").first.map(String.init) ?? "vigil_catalog"
        let port = components.port ?? 5432
        let endpoint: Endpoint
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            endpoint = .socketDirectory(socketDirectory)
        } else if let host = components.host, !host.isEmpty {
            endpoint = .tcp(host: host, port: port)
        } else {
            throw URLError(reason: "the URL names no host")
        }
        guard let tls = TLSMode(rawValue: query["sslmode"] ?? "prefer") else {
            throw URLError(reason: "sslmode must be disable, prefer or require")
        }
        return DatabaseServer(
            endpoint: endpoint,
            port: port,
            administrator: DatabaseRole(name: user, password: components.password.flatMap { $0.removingPercentEncoding }),
            catalogDatabase: database,
            tls: tls,
            isEmbedded: false
        )
    }

    /// The same server with another database as its catalog.
    public func withCatalogDatabase(_ name: String) -> DatabaseServer {
        DatabaseServer(endpoint: endpoint, port: port, administrator: administrator, catalogDatabase: name, tls: tls, isEmbedded: isEmbedded)
    }

    /// Client settings for `role` on `database`; `limits` bound the statements of the server's
    /// own pools (migrations and commands run without them).
    public func configuration(role: DatabaseRole, database: String, limits: DatabaseLimits? = nil) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .socketDirectory(let directory):
            configuration = .init(
                unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: role.name, password: role.password, database: database
            )
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: role.name, password: role.password, database: database, tls: clientTLS
            )
        }
        configuration.options.connectTimeout = .seconds(5)
        if let limits { configuration.options.additionalStartupParameters = limits.sessionSettings }
        return configuration
    }

    private var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }

    /// A libpq URL for `role` on `database`, usable by `psql`.
    public func url(role: DatabaseRole, database: String) -> String {
        var components = URLComponents()
        components.scheme = "postgresql"
        components.user = role.name
        components.password = role.password
        components.path = "/" + database
        switch endpoint {
        case .socketDirectory(let directory):
            components.host = ""
            components.queryItems = [URLQueryItem(name: "host", value: directory), URLQueryItem(name: "port", value: String(port))]
        case .tcp(let host, let port):
            components.host = host
            components.port = port
            if tls != .prefer { components.queryItems = [URLQueryItem(name: "sslmode", value: tls.rawValue)] }
        }
        return components.string ?? ""
    }
}
