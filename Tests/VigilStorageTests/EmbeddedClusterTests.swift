import Foundation
import Testing
import VigilTesting

@testable import VigilStorage

@Suite struct EmbeddedClusterTests {
    @Test func aClusterInitialisesOnceIsAdoptedWhenRunningAndStops() async throws {
        let logger = TestPostgres.logger
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        let cluster = try await EmbeddedCluster.prepare(dataDirectory: directory)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            if cluster.layout.isRelocated { try? FileManager.default.removeItem(atPath: cluster.layout.clusterRoot) }
        }
        #expect(try await cluster.start(logger: logger) == .initialisedAndStarted)
        #expect(try await cluster.isRunning())
        // A second vigil (or a command) finds it running and uses it as it is.
        let again = try await EmbeddedCluster.prepare(dataDirectory: directory)
        #expect(again.layout == cluster.layout)
        #expect(try await again.start(logger: logger) == .alreadyRunning)
        let pid = try #require(cluster.postmasterProcessID())

        try await cluster.stop(logger: logger)
        #expect(try await !cluster.isRunning())
        #expect(await Self.processEnds(pid))
        #expect(try await cluster.start(logger: logger) == .started)
        try await cluster.stop(logger: logger)
    }

    /// Whether `pid` is gone (or a zombie awaiting its reaper) within five seconds.
    static func processEnds(_ pid: Int32) async -> Bool {
        for _ in 0..<100 {
            if kill(pid, 0) != 0 { return true }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") == true { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func theDataDirectoryLockIsExclusive() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-lock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: DataDirectoryLock? = try DataDirectoryLock.acquire(dataDirectory: directory)
        #expect {
            _ = try DataDirectoryLock.acquire(dataDirectory: directory)
        } throws: { error in
            guard case .dataDirectoryLocked(let path, let holder)? = error as? EmbeddedClusterError else { return false }
            return path == directory && holder == String(getpid())
        }
        _ = first
        first = nil
        _ = try DataDirectoryLock.acquire(dataDirectory: directory)
    }
}
