#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operating-system account a PostgreSQL cluster runs as.
///
/// PostgreSQL refuses to run as root; when Vigil runs as root (CI, containers) the cluster runs as
/// the `postgres` system user that Debian's package creates, otherwise as the current user.
public struct SystemUser: Sendable, Equatable {
    public let name: String
    public let userID: UInt32
    public let groupID: UInt32

    /// Whether this account is the one running Vigil (no switch of user needed).
    public var isCurrentUser: Bool { userID == geteuid() }

    public static func current() -> SystemUser {
        let uid = geteuid()
        let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? String(uid)
        return SystemUser(name: name, userID: uid, groupID: getegid())
    }

    public static func named(_ name: String) -> SystemUser? {
        guard let entry = getpwnam(name) else { return nil }
        return SystemUser(name: name, userID: entry.pointee.pw_uid, groupID: entry.pointee.pw_gid)
    }

    /// The account the embedded cluster runs as on this machine.
    public static func clusterOwner() throws(EmbeddedClusterError) -> SystemUser {
        guard geteuid() == 0 else { return current() }
        guard let postgres = named("postgres") else { throw .noPostgresUser }
        return postgres
    }
}
