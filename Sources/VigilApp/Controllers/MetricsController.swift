import Hummingbird
import Prometheus
import VigilHTTP

/// `/metrics` in the Prometheus text exposition format.
struct MetricsController: RouteController {
    let registry: PrometheusCollectorRegistry

    func addRoutes(to routes: RouteRegistrar) {
        routes.add(PlatformRoutes.metrics) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}
