import Foundation
public import VigilStorage

/// The audit module's tenant migrations (the chain and event positions the sequencer writes).
public enum AuditMigrations {
    public static func tenant() throws -> [Migration] {
        guard let root = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return try Migration.load(module: "audit", directory: root.appendingPathComponent("Migrations"))
    }
}
