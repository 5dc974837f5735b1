import HTTPTypes
import Hummingbird
import VigilCore
import VigilHTTP
import VigilStorage

/// `/healthz`: the process answers. `/readyz`: the catalog and every open pool answer too, each
/// within a timeout that keeps the whole answer under a second (a load balancer's probe).
struct HealthController: RouteController {
    static let readinessTimeout: Duration = .milliseconds(800)

    let directory: TenantDirectory

    func addRoutes(to routes: RouteRegistrar) {
        routes.add(PlatformRoutes.health) { _, _ in
            Self.status("ok")
        }
        routes.add(PlatformRoutes.readiness) { _, context in
            let checks = await directory.readiness(timeout: Self.readinessTimeout, logger: context.logger)
            guard checks.values.allSatisfy({ $0 }) else { throw Problem.notReady(checks: checks) }
            return Self.status("ready")
        }
    }

    static func status(_ value: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"\(value)\"}"))
        )
    }
}
