import Foundation

/// Where the machine's PostgreSQL server binaries are.
///
/// `pg_config --bindir` first, else the newest `/usr/lib/postgresql/*/bin`. Never `PATH`: some
/// machines carry stray symlinks to another version's `initdb`.
public struct PostgresInstallation: Sendable, Equatable {
    public let binDirectory: String

    public var initdb: String { binDirectory + "/initdb" }
    public var pgCtl: String { binDirectory + "/pg_ctl" }
    public var pgbench: String { binDirectory + "/pgbench" }

    public init(binDirectory: String) {
        self.binDirectory = binDirectory
    }

    public static func locate() async throws -> PostgresInstallation {
        let fileManager = FileManager.default
        func hasServerTools(_ directory: String) -> Bool {
            fileManager.isExecutableFile(atPath: directory + "/initdb")
                && fileManager.isExecutableFile(atPath: directory + "/pg_ctl")
                && fileManager.isExecutableFile(atPath: directory + "/postgres")
        }
        for pgConfig in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where fileManager.isExecutableFile(atPath: pgConfig) {
            if let outcome = try? await ProcessRunner(user: .current()).run(pgConfig, ["--bindir"]), outcome.succeeded {
                let directory = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
                if hasServerTools(directory) { return PostgresInstallation(binDirectory: directory) }
            }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }
            .sorted(by: >)
        for version in versions where hasServerTools("\(root)/\(version)/bin") {
            return PostgresInstallation(binDirectory: "\(root)/\(version)/bin")
        }
        throw EmbeddedClusterError.binariesMissing
    }
}
