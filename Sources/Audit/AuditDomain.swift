public import VigilHTTP

extension Domain {
    /// Audit (spec 04): the sequencer that gives committed entries and events their chain
    /// positions, and `vigil audit verify`.
    public static let audit = Domain(
        name: "audit",
        tenantMigrations: { try AuditMigrations.tenant() },
        commands: [AuditCommand.self],
        start: { context in
            let sequencer = SequencerService(directory: context.directory, logger: context.logger)
            return DomainRuntime(services: [sequencer], afterMigrations: { sequencer.start() })
        }
    )
}
