import Foundation
public import VigilStorage

/// The audit module's tenant migrations (the chain and event positions the sequencer writes).
public enum AuditMigrations {
    /// Ids earlier builds recorded renumbered files under, before tenant migrations shared one sequence.
    static let previousIDs = ["0003_chain.sql": ["audit/0001_chain.sql"]]

    public static func tenant() throws -> [Migration] {
        guard let root = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return try Migration.load(module: "audit", directory: root.appendingPathComponent("Migrations"), previousIDs: previousIDs)
    }
}
