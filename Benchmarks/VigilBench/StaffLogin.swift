import ArgumentParser
import Foundation
import HummingbirdBcrypt
import Identity
import Logging
import NIOPosix
import VigilApp
import VigilCore
import VigilStorage

/// B7: staff logins per second (the password step: lock checks, bcrypt cost 12 on the thread pool,
/// the challenge row, the audit entry and the event), against raw bcrypt verifications per second
/// on the same thread pool in the same process. Raw bcrypt is measured before and after the
/// logins and averaged, so a machine slowing down mid-run does not flatter the ratio.
struct StaffLogin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "b7", abstract: "B7: staff login rate vs raw bcrypt rate (cost 12).")

    @Option(help: "Seconds each measurement runs.") var seconds = 10
    @Option(help: "Concurrent logins (and concurrent raw verifications).") var concurrency = 4
    @Flag(help: "A few seconds, to keep the benchmark working in CI.") var smoke = false

    func run() async throws {
        let seconds = smoke ? 2 : self.seconds
        var logger = Logger(label: "vigil-bench")
        logger.logLevel = .warning
        let root = "/tmp/vigil-bench-b7-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try await EmbeddedCluster.prepare(dataDirectory: root)
        _ = try await cluster.start(logger: logger)
        do {
            try await measure(server: cluster.server, seconds: seconds, logger: logger)
            try await cluster.stop(logger: logger)
        } catch {
            try? await cluster.stop(logger: logger)
            throw error
        }
    }

    func measure(server: DatabaseServer, seconds: Int, logger: Logger) async throws {
        let bootstrap = DatabaseBootstrap(server: server)
        try await bootstrap.migrateEverything(logger: logger)
        let provisioner = try bootstrap.provisioner
        let record = try await bootstrap.withCatalog(logger: logger) { catalog in
            try await provisioner.create(slug: "bench", hosts: ["bench.invalid"], catalog: catalog, logger: logger)
        }
        let directory = TenantDirectory(server: server, poolSize: concurrency * 2, keyring: Keyring(masterKey: .generate()), logger: logger)
        var settings = IdentitySettings()
        settings.bcryptCost = 12
        let identity = IdentityService(settings: settings)
        let password = "bench password long enough"
        let hash = Bcrypt.hash(password, cost: 12)
        let concurrency = concurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await directory.run() }
            defer { group.cancelAll() }
            guard let tenant = try await directory.tenant(slug: record.slug) else { throw ValidationError("bench tenant missing") }
            try await tenant.keyring.prepareTenantKey(database: tenant.databaseName, client: tenant.client, logger: logger)
            _ = try await identity.seedStaffUser(
                email: "bench@bench.invalid", name: "Bench", role: "admin", password: password, totpSecret: .generate(), tenant: tenant, logger: logger
            )
            let call = AuthCall(
                tenant: tenant, writeContext: WriteContext(actor: AuditActor(kind: .anonymous), requestID: "b7", traceID: nil, sourceService: "identity"),
                ip: nil, userAgent: "vigil-bench", logger: logger
            )
            let rawBefore = try await Self.rate(concurrency: concurrency, seconds: seconds) {
                _ = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
            }
            let logins = try await Self.rate(concurrency: concurrency, seconds: seconds) {
                let response = try await identity.login(.staff, email: "bench@bench.invalid", password: password, call: call)
                guard response.mfaRequired == true else { throw ValidationError("login did not reach the second factor") }
            }
            let rawAfter = try await Self.rate(concurrency: concurrency, seconds: seconds) {
                _ = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
            }
            let raw = (rawBefore + rawAfter) / 2
            print(
                String(
                    format: "B7 staff_login %.2f logins/s ratio=%.2f (raw bcrypt %.2f/s: %.2f before, %.2f after; cost 12, %d concurrent, %ds, bar >= 0.8)",
                    logins, logins / raw, raw, rawBefore, rawAfter, concurrency, seconds
                )
            )
        }
    }

    /// Operations per second with `concurrency` loops running `operation` for `seconds`.
    static func rate(concurrency: Int, seconds: Int, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        let deadline = start + .seconds(seconds)
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        try await operation()
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
