import Foundation
public import VigilStorage

/// The identity module's tenant migrations (users, credentials, sessions, throttles, token keys).
public enum IdentityMigrations {
    /// Ids earlier builds recorded renumbered files under, before tenant migrations shared one sequence.
    static let previousIDs = ["0004_identity.sql": ["identity/0001_identity.sql"]]

    public static func tenant() throws -> [Migration] {
        guard let root = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return try Migration.load(module: "identity", directory: root.appendingPathComponent("Migrations"), previousIDs: previousIDs)
    }
}
