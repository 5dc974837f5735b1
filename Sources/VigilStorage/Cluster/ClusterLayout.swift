import Foundation
import Crypto
import VigilCore

/// Where an embedded cluster's files live for a given Vigil data directory.
///
/// Normally under the data directory (`<data>/pg`, socket in `<data>/run`). When the cluster's
/// owner cannot traverse the data directory (root running from a checkout under a 0700
/// `mktemp -d` directory, which the `postgres` user cannot enter), the cluster lives in
/// `/var/lib/vigil/<first 16 hex of SHA-256 of the data directory's absolute path>` instead, so
/// the same data directory always maps to the same cluster.
public struct ClusterLayout: Sendable, Equatable {
    public static let relocationRoot = "/var/lib/vigil"
    /// The socket file name's port: the cluster listens on no TCP port at all.
    public static let port = 5432

    public let dataDirectory: String
    /// The directory holding `pg/`, `run/` and `log/`.
    public let clusterRoot: String

    public var clusterDirectory: String { clusterRoot + "/pg" }
    public var socketDirectory: String { clusterRoot + "/run" }
    public var logDirectory: String { clusterRoot + "/log" }
    public var logFile: String { logDirectory + "/postgres.log" }
    public var socketPath: String { socketDirectory + "/.s.PGSQL.\(Self.port)" }
    public var isRelocated: Bool { clusterRoot != dataDirectory }

    public init(dataDirectory: String, relocated: Bool) {
        self.dataDirectory = dataDirectory
        self.clusterRoot = relocated ? Self.relocatedRoot(for: dataDirectory) : dataDirectory
    }

    public static func relocatedRoot(for dataDirectory: String) -> String {
        let digest = SHA256.hash(data: Data(dataDirectory.utf8))
        let hex = Hex.string(digest)
        return relocationRoot + "/" + hex.prefix(16)
    }

    /// Absolute, standardised form of a user-given data directory path.
    public static func absolutePath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return url.standardizedFileURL.path
    }
}
