public import Foundation
import Crypto
import VigilCore

/// One schema change: a named `.sql` file of a module, applied once and recorded with its checksum.
public struct Migration: Sendable, Equatable {
    /// `<module>/<file name>`, e.g. `catalog/0001_tenants.sql`; what `vigil_migrations` records.
    public let id: String
    public let sql: String

    public init(id: String, sql: String) {
        self.id = id
        self.sql = sql
    }

    /// Lowercase hex SHA-256 of the file's bytes.
    public var checksum: String {
        Hex.string(SHA256.hash(data: Data(sql.utf8)))
    }

    /// The `.sql` files of `directory`, ordered by name (`0001_…`, `0002_…`), as migrations of `module`.
    public static func load(module: String, directory: URL) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        return try names.map { name in
            let sql = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            return Migration(id: "\(module)/\(name)", sql: sql)
        }
    }
}

/// The migrations Vigil's storage module ships.
public enum StorageMigrations {
    /// The catalog database's schema (tenants and their host names).
    public static func catalog() throws -> [Migration] {
        try Migration.load(module: "catalog", directory: resourceDirectory("catalog"))
    }

    /// The tenant database's base schema (privileges every later table relies on).
    public static func tenant() throws -> [Migration] {
        try Migration.load(module: "storage", directory: resourceDirectory("tenant"))
    }

    static func resourceDirectory(_ name: String) throws -> URL {
        guard let root = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return root.appendingPathComponent("Migrations").appendingPathComponent(name)
    }
}
