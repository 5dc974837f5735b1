import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The exclusive `flock` on `<data>/vigil.lock` held by `vigil serve` and `vigil demo`.
///
/// The kernel releases it when the process dies however it dies, so a `kill -9` never leaves a
/// stale lock. Other commands do not take it: they share the running server's cluster.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    public static func acquire(dataDirectory: String) throws -> DataDirectoryLock {
        let path = dataDirectory + "/vigil.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw EmbeddedClusterError.dataDirectoryUnusable(path: dataDirectory, reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw EmbeddedClusterError.dataDirectoryLocked(path: dataDirectory, holder: holder?.isEmpty == false ? holder : nil)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        return DataDirectoryLock(path: path, descriptor: descriptor)
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
