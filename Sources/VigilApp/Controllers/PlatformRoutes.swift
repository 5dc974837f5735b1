import Prometheus
public import VigilHTTP
import VigilStorage

/// The routes of the process itself rather than of a domain: health, metrics, the OpenAPI
/// document, and which tenant a host name reaches.
public enum PlatformRoutes {
    static let health = RouteDeclaration(.get, "/healthz", access: .anonymous, operationID: "getHealth", realm: .platform)
    static let readiness = RouteDeclaration(.get, "/readyz", access: .anonymous, operationID: "getReadiness", realm: .platform)
    static let metrics = RouteDeclaration(.get, "/metrics", access: .anonymous, operationID: "getMetrics", realm: .platform)
    static let openAPI = RouteDeclaration(.get, "/api/openapi.yaml", access: .anonymous, operationID: "getOpenAPIDocument", realm: .platform)
    static let tenant = RouteDeclaration(.get, "/api/tenant", access: .anonymous, operationID: "getTenant")

    public static let declarations = [health, readiness, metrics, openAPI, tenant]

    static func controllers(directory: TenantDirectory, metrics: PrometheusCollectorRegistry) throws -> [any RouteController] {
        [HealthController(directory: directory), MetricsController(registry: metrics), try OpenAPIController(), TenantController()]
    }
}
