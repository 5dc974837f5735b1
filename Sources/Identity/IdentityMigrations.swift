import Foundation
public import VigilStorage

/// The identity module's tenant migrations (users, credentials, sessions, throttles, token keys).
public enum IdentityMigrations {
    public static func tenant() throws -> [Migration] {
        guard let root = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return try Migration.load(module: "identity", directory: root.appendingPathComponent("Migrations"))
    }
}
