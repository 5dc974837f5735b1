import Hummingbird
import VigilStorage

/// `GET /api/tenant`: which tenant this host name reaches (clients and the console read it first).
struct TenantController {
    struct TenantInfo: ResponseEncodable {
        let tenant: String
    }

    func addRoutes(to group: RouterGroup<VigilRequestContext>) {
        group.get("tenant") { _, context -> TenantInfo in
            TenantInfo(tenant: context.tenant?.slug ?? "")
        }
    }
}
