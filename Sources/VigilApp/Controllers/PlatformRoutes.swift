import Prometheus
public import VigilHTTP
import VigilStorage

/// The routes of the process itself rather than of a domain: health, metrics, the OpenAPI
/// document, and which tenant a host name reaches.
public enum PlatformRoutes {
    static let health = RouteDeclaration(.get, "/healthz", access: .anonymous, operationID: "getHealth", realm: .platform)
    static let readiness = RouteDeclaration(.get, "/readyz", access: .anonymous, operationID: "getReadiness", realm: .platform)
    /// Not authenticated as a tenant's user: its bearer token is the operator's `VIGIL_METRICS_TOKEN`.
    static let metrics = RouteDeclaration(
        .get, "/metrics", access: .anonymous, operationID: "getMetrics", realm: .platform, authenticates: false
    )
    static let openAPI = RouteDeclaration(.get, "/api/openapi.yaml", access: .anonymous, operationID: "getOpenAPIDocument", realm: .platform)
    static let tenant = RouteDeclaration(.get, "/api/tenant", access: .anonymous, operationID: "getTenant")

    public static let declarations = [health, readiness, metrics, openAPI, tenant]

    static func controllers(directory: TenantDirectory, metrics: PrometheusCollectorRegistry, metricsAccess: MetricsAccess) throws -> [any RouteController] {
        [
            HealthController(directory: directory), MetricsController(registry: metrics, access: metricsAccess), try OpenAPIController(),
            TenantController(),
        ]
    }
}
