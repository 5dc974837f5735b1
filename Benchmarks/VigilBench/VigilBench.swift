import ArgumentParser
import Audit
import Foundation
import Logging
import PostgresNIO
import Subprocess
import SystemPackage
import VigilApp
import VigilCore
import VigilStorage

/// Benchmarks that need Vigil's modules in process (BENCHMARKS.md); B9 lives in b9_startup.py.
@main
struct VigilBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-bench",
        abstract: "Vigil's in-process benchmarks (run a release build).",
        subcommands: [WritePath.self, StaffLogin.self]
    )
}

/// B0: 32 concurrent writers committing a row change + audit entry + outbox event through the
/// unit of work, against pgbench's tpcb-like TPS on the same embedded cluster in the same run,
/// and the sequencer's lag (commit to chain position) at the 99th percentile.
struct WritePath: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "b0", abstract: "B0: write-path commits/s vs pgbench TPS; sequencer lag p99.")

    @Option(help: "Concurrent writers (and pgbench clients).") var writers = 32
    @Option(help: "Seconds each measurement runs.") var seconds = 15
    @Option(help: "pgbench scale factor.") var scale = 20
    @Flag(help: "A few seconds at small size, to keep the benchmark working in CI.") var smoke = false
    @Flag(help: "Record entries about no customer (nothing sealed), to show what sealing costs.") var withoutSealing = false

    func run() async throws {
        let (writers, seconds, scale) = smoke ? (8, 2, 1) : (self.writers, self.seconds, self.scale)
        var logger = Logger(label: "vigil-bench")
        logger.logLevel = .warning
        let root = "/tmp/vigil-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try await EmbeddedCluster.prepare(dataDirectory: root)
        _ = try await cluster.start(logger: logger)
        do {
            try await measure(cluster: cluster, writers: writers, seconds: seconds, scale: scale, logger: logger)
            try await cluster.stop(logger: logger)
        } catch {
            try? await cluster.stop(logger: logger)
            throw error
        }
    }

    func measure(cluster: EmbeddedCluster, writers: Int, seconds: Int, scale: Int, logger: Logger) async throws {
        let server = cluster.server
        let bootstrap = DatabaseBootstrap(server: server)
        try await bootstrap.migrateEverything(logger: logger)
        let provisioner = try bootstrap.provisioner
        let record = try await bootstrap.withCatalog(logger: logger) { catalog in
            try await provisioner.create(slug: "bench", hosts: ["bench.invalid"], catalog: catalog, logger: logger)
        }
        let accounts = 10_000
        try await PostgresClient.withRunning(server.configuration(role: record.owner, database: record.databaseName), logger: logger) { owner in
            try await owner.query("CREATE TABLE bench_accounts (id integer PRIMARY KEY, balance bigint NOT NULL)", logger: logger)
            try await owner.query("INSERT INTO bench_accounts SELECT g, 0 FROM generate_series(1, \(accounts)) g", logger: logger)
            try await owner.query("GRANT SELECT, UPDATE ON bench_accounts TO vigil_application", logger: logger)
        }

        let pgbenchTPS = try await pgbench(cluster: cluster, clients: writers, seconds: seconds, scale: scale, logger: logger)

        let directory = TenantDirectory(server: server, poolSize: writers, keyring: Keyring(masterKey: .generate()), logger: logger)
        let sequencer = SequencerService(directory: directory, logger: logger)
        let (commits, elapsed) = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await directory.run() }
            group.addTask { try await sequencer.run() }
            sequencer.start()
            defer { group.cancelAll() }
            guard let tenant = try await directory.tenant(slug: record.slug) else { throw ValidationError("bench tenant missing") }
            // Customers' keys are made once, at their first sealed entry (registration, in production): not measured.
            for customer in 1...Self.customers {
                try await tenant.write(.system("bench"), logger: logger) { unit in
                    _ = try await unit.record(AuditRecord(action: "customer.keyed", entityType: "customer", customerID: Self.customerID(customer), details: ["note": "warm-up"]))
                    try await unit.emit(OutboxEvent(aggregateType: "customer", aggregateID: "\(customer)", type: "customer.keyed", payload: [:]))
                }
            }
            let result = try await Self.write(tenant: tenant, writers: writers, seconds: seconds, accounts: accounts, sealing: !withoutSealing, logger: logger)
            // Let the sequencer catch up before the lag is read.
            for _ in 0..<100 {
                let pending = try await tenant.client.postgres.query(
                    "SELECT count(*) FROM audit_entries e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = e.id)", logger: logger
                ).decode(Int64.self).reduce(0, +)
                if pending == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return result
        }
        let (lagP99, lagMax, verification) = try await PostgresClient.withRunning(
            server.configuration(role: record.owner, database: record.databaseName), logger: logger
        ) { owner in
            let lag = try await owner.query(
                """
                SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM c.sequenced_at - e.created_at))::float8,
                       max(extract(epoch FROM c.sequenced_at - e.created_at))::float8
                FROM audit_entries e JOIN audit_chain c ON c.entry_id = e.id WHERE e.action = 'account.credited'
                """,
                logger: logger
            ).decode((Double?, Double?).self).reduce((nil, nil)) { $1 }
            return (lag.0 ?? .nan, lag.1 ?? .nan, try await ChainVerifier().verify(on: DatabasePool(postgres: owner), logger: logger))
        }
        let rate = Double(commits) / elapsed
        print(String(format: "B0 write_path_commits %.0f commits/s ratio=%.2f (pgbench_tps=%.0f, writers=%d, %ds, %@, bar >= 0.7)", rate, rate / pgbenchTPS, pgbenchTPS, writers, seconds, withoutSealing ? "nothing sealed" : "sealed"))
        print(String(format: "B0 sequencer_lag_p99 %.3f s ratio=%.2f (max %.3f s, bar < 1 s)", lagP99, lagP99 / 1.0, lagMax))
        print("B0 chain \(verification.summary)")
        guard verification.exitCode == 0 else { throw ExitCode(1) }
    }

    static let customers = 1_000

    static func customerID(_ number: Int) -> UUID {
        UUID(uuid: SeededGenerator.uuidBytes(number))
    }

    /// Each writer credits a random account and records it about that account's customer: the
    /// entry's free-text detail is sealed with the customer's key, as in production.
    static func write(tenant: TenantDatabase, writers: Int, seconds: Int, accounts: Int, sealing: Bool, logger: Logger) async throws -> (Int, Double) {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        let commits = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var generator = SeededGenerator(seed: UInt64(writer + 1))
                    var count = 0
                    while ContinuousClock.now < deadline {
                        let account = Int.random(in: 1...accounts, using: &generator)
                        let customer = Self.customerID(account % Self.customers + 1)
                        try await tenant.write(.system("bench"), logger: logger) { unit in
                            try await unit.connection.query("UPDATE bench_accounts SET balance = balance + 1 WHERE id = \(account)", logger: logger)
                            try await unit.record(
                                AuditRecord(
                                    action: "account.credited", entityType: "account", entityID: "\(account)", customerID: sealing ? customer : nil,
                                    details: ["amount": "1.00", "note": "bench credit"], balanceBefore: "0.00", balanceAfter: "1.00"
                                )
                            )
                            try await unit.emit(
                                OutboxEvent(aggregateType: "account", aggregateID: "\(account)", type: "account.credited", payload: ["customer_id": .identifier(customer), "amount": .amount("1.00")])
                            )
                        }
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        return (commits, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// pgbench tpcb-like with `clients` clients and 2 threads on its own database of the same cluster.
    func pgbench(cluster: EmbeddedCluster, clients: Int, seconds: Int, scale: Int, logger: Logger) async throws -> Double {
        try await PostgresClient.withRunning(cluster.server.configuration(role: cluster.server.administrator, database: "postgres"), logger: logger) { admin in
            try await admin.query("DROP DATABASE IF EXISTS pgbench", logger: logger)
            try await admin.query("CREATE DATABASE pgbench", logger: logger)
        }
        let common = ["-h", cluster.layout.socketDirectory, "-p", "\(ClusterLayout.port)", "-U", EmbeddedCluster.superuser]
        _ = try await runAsOwner(cluster, cluster.installation.pgbench, ["-i", "-q", "-s", "\(scale)"] + common + ["pgbench"])
        let output = try await runAsOwner(cluster, cluster.installation.pgbench, ["-c", "\(clients)", "-j", "2", "-T", "\(seconds)"] + common + ["pgbench"])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
            let tps = Double(line.dropFirst("tps = ".count).prefix { $0.isNumber || $0 == "." })
        else { throw ValidationError("no tps in pgbench output:\n\(output)") }
        return tps
    }

    func runAsOwner(_ cluster: EmbeddedCluster, _ executable: String, _ arguments: [String]) async throws -> String {
        var options = PlatformOptions()
        if !cluster.owner.isCurrentUser {
            options.userID = cluster.owner.userID
            options.groupID = cluster.owner.groupID
            options.supplementaryGroups = [cluster.owner.groupID]
        }
        let result = try await Subprocess.run(
            .path(FilePath(executable)), arguments: Arguments(arguments), workingDirectory: FilePath("/"), platformOptions: options,
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20)
        )
        let output = [result.standardOutput, result.standardError].compactMap { $0 }.joined(separator: "\n")
        guard result.terminationStatus.isSuccess else { throw ValidationError("\(executable) failed:\n\(output)") }
        return output
    }
}

/// A deterministic generator (SplitMix64), so every run credits the same accounts.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A fixed UUID per account, for its customer.
    static func uuidBytes(_ account: Int) -> uuid_t {
        var generator = SeededGenerator(seed: UInt64(account))
        let high = generator.next(), low = generator.next()
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (8 * index))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15])
    }
}
