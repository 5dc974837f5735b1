import Foundation
public import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster under Vigil's data directory (architecture decision 4).
///
/// `initdb` on first use, then `pg_ctl start` on a unix socket in a 0700 directory with `trust`
/// authentication and no TCP listener. A cluster found running (left behind by a `vigil` that was
/// killed, or started by a running server) is adopted rather than started twice.
public struct EmbeddedCluster: Sendable {
    /// The bootstrap superuser `initdb` creates.
    public static let superuser = "postgres"

    public let layout: ClusterLayout
    public let installation: PostgresInstallation
    public let owner: SystemUser
    private let runner: ProcessRunner

    public init(layout: ClusterLayout, installation: PostgresInstallation, owner: SystemUser) {
        self.layout = layout
        self.installation = installation
        self.owner = owner
        self.runner = ProcessRunner(user: owner)
    }

    /// Prepares the cluster for `dataDirectory`: finds the binaries, the owner and the layout.
    public static func prepare(dataDirectory: String) async throws -> EmbeddedCluster {
        let installation = try await PostgresInstallation.locate()
        let owner = try SystemUser.clusterOwner()
        let directory = ClusterLayout.absolutePath(dataDirectory)
        try createDataDirectory(directory, owner: owner)
        let relocated = try await !canTraverse(directory, as: owner)
        let layout = ClusterLayout(dataDirectory: directory, relocated: relocated)
        return EmbeddedCluster(layout: layout, installation: installation, owner: owner)
    }

    /// The server this cluster offers, connected over its private socket.
    public var server: DatabaseServer {
        .embedded(socketDirectory: layout.socketDirectory, superuser: Self.superuser)
    }

    // MARK: - Lifecycle

    /// How ``start(logger:)`` found the cluster.
    public enum StartOutcome: Sendable, Equatable {
        case initialisedAndStarted
        case started
        /// Already running: started by another `vigil` command, or left by a killed one.
        case alreadyRunning
    }

    /// Initialises the cluster if needed and starts it unless it is running; waits until it accepts connections.
    @discardableResult
    public func start(logger: Logger) async throws -> StartOutcome {
        var initialised = false
        if !FileManager.default.fileExists(atPath: layout.clusterDirectory + "/PG_VERSION") {
            try await initialise(logger: logger)
            initialised = true
        } else if try await isRunning() {
            logger.info("Using the embedded PostgreSQL already running", metadata: ["cluster": "\(layout.clusterDirectory)"])
            try await waitUntilReady(logger: logger)
            return .alreadyRunning
        }
        try writeRuntimeSettings()
        try prepareDirectory(layout.socketDirectory)
        try prepareDirectory(layout.logDirectory)
        let outcome = try await runner.run(
            installation.pgCtl,
            ["-D", layout.clusterDirectory, "-l", layout.logFile, "-w", "-t", "60", "-s", "start"]
        )
        guard outcome.succeeded else {
            throw EmbeddedClusterError.startFailed(output: outcome.output + "\n" + logTail(), logFile: layout.logFile)
        }
        try await waitUntilReady(logger: logger)
        logger.info("Embedded PostgreSQL started", metadata: ["cluster": "\(layout.clusterDirectory)"])
        return initialised ? .initialisedAndStarted : .started
    }

    /// Stops the cluster with a fast shutdown (open transactions roll back, no data is lost).
    public func stop(logger: Logger) async throws {
        guard try await isRunning() else { return }
        let outcome = try await runner.run(installation.pgCtl, ["-D", layout.clusterDirectory, "-m", "fast", "-w", "-t", "60", "-s", "stop"])
        guard outcome.succeeded else { throw EmbeddedClusterError.stopFailed(output: outcome.output) }
        logger.info("Embedded PostgreSQL stopped", metadata: ["cluster": "\(layout.clusterDirectory)"])
    }

    /// Stops the cluster now, whatever it is doing: an immediate shutdown (crash recovery at the
    /// next start, no committed data lost), then SIGKILL to a postmaster that did not stop in time.
    /// For a `vigil` whose graceful stop overran its deadline.
    public func stopImmediately(logger: Logger) async {
        let stopped = (try? await runner.run(installation.pgCtl, ["-D", layout.clusterDirectory, "-m", "immediate", "-w", "-t", "2", "-s", "stop"]))?
            .succeeded ?? false
        if !stopped, let pid = postmasterProcessID() {
            kill(pid, SIGKILL)
        }
        logger.warning("Embedded PostgreSQL stopped immediately", metadata: ["cluster": "\(layout.clusterDirectory)"])
    }

    /// Whether a postmaster is running on this cluster directory (`pg_ctl status` exits 0).
    public func isRunning() async throws -> Bool {
        guard FileManager.default.fileExists(atPath: layout.clusterDirectory + "/PG_VERSION") else { return false }
        let outcome = try await runner.run(installation.pgCtl, ["-D", layout.clusterDirectory, "status"])
        return outcome.succeeded
    }

    /// The postmaster's process id, read from `postmaster.pid`, when one is recorded.
    public func postmasterProcessID() -> Int32? {
        guard let text = try? String(contentsOfFile: layout.clusterDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    // MARK: - Set-up

    private func initialise(logger: Logger) async throws {
        if layout.isRelocated { try prepareDirectory(layout.clusterRoot) }
        let directory = layout.clusterDirectory
        // A directory left by an initdb that was killed half-way holds nothing worth keeping.
        if FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.removeItem(atPath: directory)
        }
        try prepareDirectory(directory)
        logger.info("Initialising the embedded PostgreSQL cluster", metadata: ["cluster": "\(directory)"])
        let outcome = try await runner.run(
            installation.initdb,
            [
                "-D", directory, "-U", Self.superuser, "--encoding=UTF8", "--locale=C",
                "--auth-local=trust", "--auth-host=scram-sha-256",
            ]
        )
        guard outcome.succeeded else { throw EmbeddedClusterError.initdbFailed(output: outcome.output) }
        let include = "\n# Vigil: the settings below are rewritten at every start.\ninclude_if_exists = 'vigil.conf'\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(include.utf8))
        try handle.close()
    }

    /// Settings that depend on where the cluster is: the socket directory, and no TCP listener.
    private func writeRuntimeSettings() throws {
        let escaped = layout.socketDirectory.replacingOccurrences(of: "'", with: "''")
        let settings = """
            listen_addresses = ''
            port = \(ClusterLayout.port)
            unix_socket_directories = '\(escaped)'
            unix_socket_permissions = 0700
            max_connections = 200
            timezone = 'UTC'
            log_timezone = 'UTC'

            """
        let path = layout.clusterDirectory + "/vigil.conf"
        try Data(settings.utf8).write(to: URL(fileURLWithPath: path))
        try hand(path, mode: 0o600)
    }

    private func waitUntilReady(logger: Logger, seconds: Int = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var configuration = PostgresConnection.Configuration(
            unixSocketPath: layout.socketPath, username: Self.superuser, password: nil, database: "postgres"
        )
        configuration.options.connectTimeout = .seconds(2)
        while ContinuousClock.now < deadline {
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                try await connection.close()
                return
            } catch {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        throw EmbeddedClusterError.notReady(seconds: seconds, logFile: layout.logFile)
    }

    // MARK: - File system

    private static func createDataDirectory(_ path: String, owner: SystemUser) throws {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw EmbeddedClusterError.dataDirectoryUnusable(path: path, reason: "it is a file, not a directory")
            }
            return
        }
        // 0711: the cluster's owner may pass through to `pg/` but not list the keys beside it.
        try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
    }

    /// Whether `user` can reach `path` (every ancestor traversable), asked of the kernel as that user.
    private static func canTraverse(_ path: String, as user: SystemUser) async throws -> Bool {
        if user.isCurrentUser { return true }
        let outcome = try await ProcessRunner(user: user).run("/usr/bin/test", ["-x", path])
        return outcome.succeeded
    }

    /// Creates `path` if needed and gives it to the cluster's owner, mode 0700.
    private func prepareDirectory(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        try hand(path, mode: 0o700)
    }

    private func hand(_ path: String, mode: Int) throws {
        if !owner.isCurrentUser {
            guard chown(path, owner.userID, owner.groupID) == 0 else {
                throw EmbeddedClusterError.dataDirectoryUnusable(path: path, reason: "cannot give it to user \(owner.name)")
            }
        }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    private func logTail() -> String {
        guard let text = try? String(contentsOfFile: layout.logFile, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }
}
