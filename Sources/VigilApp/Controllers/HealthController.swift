import HTTPTypes
import Hummingbird
import VigilCore
import VigilStorage

/// `/healthz`: the process answers. `/readyz`: the catalog and every open pool answer too.
struct HealthController {
    let directory: TenantDirectory

    func addRoutes(to router: Router<VigilRequestContext>) {
        router.get("healthz") { _, _ in
            Self.status("ok")
        }
        router.get("readyz") { _, context in
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
