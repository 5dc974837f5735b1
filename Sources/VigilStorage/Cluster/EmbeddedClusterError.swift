/// Why the embedded PostgreSQL cluster could not be set up, in words an operator can act on.
public enum EmbeddedClusterError: Error, CustomStringConvertible, Sendable {
    case binariesMissing
    case noPostgresUser
    case initdbFailed(output: String)
    case startFailed(output: String, logFile: String)
    case stopFailed(output: String)
    case notReady(seconds: Int, logFile: String)
    case dataDirectoryLocked(path: String, holder: String?)
    case dataDirectoryUnusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .binariesMissing:
            return """
                PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. \
                Install the Debian package 'postgresql' (apt-get install postgresql), \
                or set VIGIL_CATALOG_URL to use an external PostgreSQL.
                """
        case .noPostgresUser:
            return """
                Running as root, but there is no 'postgres' system user to run the embedded cluster \
                (PostgreSQL refuses to run as root). Install the Debian package 'postgresql', which creates it.
                """
        case .initdbFailed(let output):
            return "initdb failed:\n\(output)"
        case .startFailed(let output, let logFile):
            return "PostgreSQL did not start (server log: \(logFile)):\n\(output)"
        case .stopFailed(let output):
            return "PostgreSQL did not stop cleanly:\n\(output)"
        case .notReady(let seconds, let logFile):
            return "PostgreSQL started but did not accept connections within \(seconds) s (server log: \(logFile))."
        case .dataDirectoryLocked(let path, let holder):
            let who = holder.map { " (process \($0))" } ?? ""
            return """
                Another 'vigil serve' or 'vigil demo' is already running on the data directory \(path)\(who). \
                Stop it first, or choose another directory with --data-dir.
                """
        case .dataDirectoryUnusable(let path, let reason):
            return "The data directory \(path) cannot be used: \(reason)"
        }
    }
}
