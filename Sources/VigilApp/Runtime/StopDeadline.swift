import Foundation
import Logging
import ServiceLifecycle
import VigilStorage

/// Bounds a graceful stop. When SIGTERM or SIGINT starts one, a timer starts too; if `vigil` is
/// still running when it ends — a request or pool stuck on a PostgreSQL that does not answer —
/// the embedded cluster is stopped immediately and the process exits, so nothing outlives it.
struct StopDeadline: Service {
    static let `default`: Duration = .seconds(7)

    let deadline: Duration
    let cluster: EmbeddedCluster?
    let logger: Logger

    func run() async throws {
        // Cancelled instead (the group failed): the other services' own stop applies.
        guard (try? await gracefulShutdown()) != nil else { return }
        let deadline = self.deadline
        let cluster = self.cluster
        let logger = self.logger
        Task.detached {
            try? await Task.sleep(for: deadline)
            logger.critical("The graceful stop overran its deadline; stopping PostgreSQL and exiting", metadata: ["deadline": "\(deadline)"])
            await cluster?.stopImmediately(logger: logger)
            exit(1)
        }
    }
}
