public import Logging
import PostgresNIO
public import ServiceLifecycle
import Synchronization
public import VigilStorage

/// Runs a sequencer loop for every tenant of the catalog, including tenants created while running.
///
/// Each loop sequences, then waits for its tenant's commit signal or the poll interval, whichever
/// comes first; it also keeps the outbox partitions ahead and purges expired idempotency records.
public final class SequencerService: Service, Sendable {
    let directory: TenantDirectory
    let sequencer: AuditSequencer
    let pollInterval: Duration
    let catalogRefreshInterval: Duration
    let logger: Logger
    private let started = Mutex(false)
    private let startSignal = CommitSignal()

    public init(
        directory: TenantDirectory,
        sequencer: AuditSequencer = AuditSequencer(),
        pollInterval: Duration = .milliseconds(150),
        catalogRefreshInterval: Duration = .seconds(2),
        logger: Logger
    ) {
        self.directory = directory
        self.sequencer = sequencer
        self.pollInterval = pollInterval
        self.catalogRefreshInterval = catalogRefreshInterval
        self.logger = logger
    }

    /// Lets ``run()`` begin sequencing: called once the schema is migrated.
    public func start() {
        started.withLock { $0 = true }
        startSignal.signal()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !self.started.withLock({ $0 }), !Task.isCancelled {
                await self.startSignal.wait(upTo: .seconds(1))
            }
            await withDiscardingTaskGroup { group in
                var running: Set<String> = []
                while !Task.isCancelled {
                    do {
                        for record in try await self.directory.catalog.all(logger: self.logger) where !running.contains(record.slug) {
                            running.insert(record.slug)
                            group.addTask { await self.runTenant(record) }
                        }
                    } catch {
                        if Task.isCancelled { break }
                        self.logger.warning("Listing tenants for the sequencer failed", metadata: ["error": "\(String(reflecting: error))"])
                    }
                    await self.directory.tenantOpened.wait(upTo: self.catalogRefreshInterval)
                }
            }
        }
    }

    private func runTenant(_ record: TenantRecord) async {
        var logger = self.logger
        logger[metadataKey: "tenant"] = "\(record.slug)"
        let client = directory.sequencerClient(for: record)
        let signal = directory.commitSignal(slug: record.slug)
        let housekeepingInterval = ContinuousClock.Duration.seconds(600)
        var nextHousekeeping = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now >= nextHousekeeping {
                // Housekeeping never holds up sequencing: a failure is logged and retried next interval.
                nextHousekeeping = .now + housekeepingInterval
                do {
                    try await housekeeping(client: client, logger: logger)
                } catch {
                    if Task.isCancelled { return }
                    logger.error("Sequencer housekeeping failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            do {
                try await sequencer.sequenceAll(on: client, logger: logger)
                await signal.wait(upTo: pollInterval)
            } catch {
                if Task.isCancelled { return }
                logger.error("Sequencing failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func housekeeping(client: any DatabaseClient, logger: Logger) async throws {
        let created = try await client.withConnection { connection in
            try await connection.query("SELECT vigil_ensure_outbox_partitions(2)", logger: logger).decode(Int.self).reduce(0, +)
        }
        if created > 0 { logger.info("Outbox partitions created", metadata: ["count": "\(created)"]) }
        let purged = try await IdempotencyStore.purgeExpired(on: client, logger: logger)
        if purged > 0 { logger.info("Expired idempotency records purged", metadata: ["count": "\(purged)"]) }
    }
}
