public import Logging
public import ServiceLifecycle
public import VigilStorage

/// Keeps the embedded cluster for the life of the service group and stops it last, on SIGINT,
/// SIGTERM or any failure of another service, so no postgres process outlives `vigil`.
public struct EmbeddedClusterService: Service {
    public let cluster: EmbeddedCluster
    public let logger: Logger

    public init(cluster: EmbeddedCluster, logger: Logger) {
        self.cluster = cluster
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        // A detached task: stopping must finish even when this task was cancelled.
        let cluster = self.cluster
        let logger = self.logger
        try await Task.detached { try await cluster.stop(logger: logger) }.value
    }
}
