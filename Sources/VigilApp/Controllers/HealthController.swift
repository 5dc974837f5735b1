import HTTPTypes
import Hummingbird
import VigilCore
import VigilHTTP
import VigilStorage

/// `/healthz`: the process answers. `/readyz`: the catalog and every open pool answer too.
struct HealthController: RouteController {
    let directory: TenantDirectory

    func addRoutes(to routes: RouteRegistrar) {
        routes.add(PlatformRoutes.health) { _, _ in
            Self.status("ok")
        }
        routes.add(PlatformRoutes.readiness) { _, context in
            guard await directory.isReady(logger: context.logger) else {
                throw Problem.serviceUnavailable("The database is not reachable.")
            }
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
