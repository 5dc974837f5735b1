import HTTPTypes
import Hummingbird
import Prometheus
public import VigilCore
import VigilHTTP

/// Who may read `/metrics`: the operator's scraper, by address (`VIGIL_METRICS_ALLOW`, loopback
/// by default) or by the bearer token set in `VIGIL_METRICS_TOKEN`; never the public through a
/// tenant's host. Behind a reverse proxy the client address counts only when the proxy is in
/// `VIGIL_TRUSTED_PROXIES`.
public struct MetricsAccess: Sendable, Equatable {
    public var allowed: [IPNetwork]
    public var token: String?

    public init(allowed: [IPNetwork], token: String?) {
        self.allowed = allowed
        self.token = token
    }

    // Both literals parse.
    public static let loopback = MetricsAccess(
        allowed: [try! IPNetwork(parsing: "127.0.0.0/8"), try! IPNetwork(parsing: "::1/128")], token: nil
    )

    /// Whether a request from `client` carrying `authorization` may read the metrics.
    public func permits(client: IPAddress?, authorization: String?) -> Bool {
        if let client, allowed.contains(where: { $0.contains(client) }) { return true }
        guard let token, let authorization, authorization.hasPrefix("Bearer ") else { return false }
        return ConstantTime.equal(String(authorization.dropFirst(7)), token)
    }
}

/// `/metrics` in the Prometheus text exposition format, for the operator only.
struct MetricsController: RouteController {
    let registry: PrometheusCollectorRegistry
    let access: MetricsAccess

    func addRoutes(to routes: RouteRegistrar) {
        routes.add(PlatformRoutes.metrics) { request, context in
            guard access.permits(client: context.clientAddress, authorization: request.headers[.authorization]) else {
                throw Problem(
                    status: .forbidden, slug: "metrics-forbidden", title: "Metrics are for the operator",
                    detail: "Read /metrics from an address in VIGIL_METRICS_ALLOW or with the VIGIL_METRICS_TOKEN bearer token."
                )
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}
