import Hummingbird
import VigilHTTP

/// `GET /api/tenant`: which tenant this host name reaches (clients and the console read it first).
struct TenantController: RouteController {
    struct TenantInfo: ResponseEncodable {
        let tenant: String
    }

    func addRoutes(to routes: RouteRegistrar) {
        routes.add(PlatformRoutes.tenant) { _, context -> TenantInfo in
            TenantInfo(tenant: try context.requireTenant().slug)
        }
    }
}
