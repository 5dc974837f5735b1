public import Foundation
import Crypto
import VigilCore

/// One schema change: a named `.sql` file of a module, applied once and recorded with its checksum.
public struct Migration: Sendable, Equatable {
    /// `<module>/<file name>`, e.g. `catalog/0001_tenants.sql`; what `vigil_migrations` records.
    public let id: String
    public let sql: String
    /// The file name's 4-digit prefix. Tenant migrations share one sequence across every domain
    /// (`MigrationPlan.ordered`), so a migration may use any domain's tables of a lower number.
    public let sequence: Int
    /// Ids this migration was recorded under by earlier builds (before its file was renumbered);
    /// the migrator renames such a record instead of running the migration again.
    public let previousIDs: [String]

    /// Throws `MigrationPlanError.unnumbered` if the file name in `id` does not start with a
    /// 4-digit sequence number and `_` (`0003_chain.sql`).
    public init(id: String, sql: String, previousIDs: [String] = []) throws {
        let fileName = id.split(separator: "/").last.map(String.init) ?? id
        guard let sequence = Self.sequence(ofFileName: fileName) else { throw MigrationPlanError.unnumbered(id: id) }
        self.id = id
        self.sql = sql
        self.sequence = sequence
        self.previousIDs = previousIDs
    }

    /// Lowercase hex SHA-256 of the file's bytes.
    public var checksum: String {
        Hex.string(SHA256.hash(data: Data(sql.utf8)))
    }

    /// `3` for `0003_chain.sql`; nil unless the name starts with exactly four ASCII digits and `_`.
    static func sequence(ofFileName name: String) -> Int? {
        let utf8 = Array(name.utf8)
        guard utf8.count > 5, utf8[4] == UInt8(ascii: "_"), utf8[0..<4].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return utf8[0..<4].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    /// The `.sql` files of `directory`, ordered by name (`0001_…`, `0002_…`), as migrations of `module`.
    /// `previousIDs` maps a file name to the ids earlier builds recorded that file under; naming a
    /// file that is not there is an error, since existing databases would then look migrated by a
    /// newer build.
    public static func load(module: String, directory: URL, previousIDs: [String: [String]] = [:]) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        if let missing = previousIDs.keys.sorted().first(where: { !names.contains($0) }) {
            throw MigrationPlanError.previousIDsForMissingFile(id: "\(module)/\(missing)")
        }
        return try names.map { name in
            let sql = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            return try Migration(id: "\(module)/\(name)", sql: sql, previousIDs: previousIDs[name] ?? [])
        }
    }
}

/// The migrations Vigil's storage module ships.
public enum StorageMigrations {
    /// The catalog database's schema (tenants and their host names); its own sequence, apart
    /// from the tenant one.
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
