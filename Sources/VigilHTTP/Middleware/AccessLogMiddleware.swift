import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import VigilStorage

/// One log line and one metrics sample per request: route (the registered pattern, never the
/// raw path with its identifiers), method, status, duration, tenant.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let registry: PrometheusCollectorRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        let status = String(response.status.code)
        let labels = [("route", route), ("method", request.method.rawValue), ("status", status)]
        registry.makeCounter(
            descriptor: .init(namespace: "vigil", metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(namespace: "vigil", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
            labels: [("route", route), ("method", request.method.rawValue)],
            buckets: Self.buckets
        ).record(elapsed)
        var metadata: Logger.Metadata = [
            "route": .string(route),
            "method": .string(request.method.rawValue),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15),
        ]
        if let tenant = context.tenant { metadata["tenant"] = .string(tenant.slug) }
        context.logger.info("request", metadata: metadata)
        return response
    }

    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]
}
