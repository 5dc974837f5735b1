public import Hummingbird
public import Prometheus
public import VigilCore
public import VigilStorage

/// Builds the router every Vigil process serves: the platform middleware, then one route per
/// declaration, each behind its gateway. Fails when a declaration and the handlers disagree.
public enum VigilRouter {
    public struct Options: Sendable {
        public var trustedProxies: TrustedProxies
        public var maxBodyBytes: Int

        public init(trustedProxies: TrustedProxies, maxBodyBytes: Int) {
            self.trustedProxies = trustedProxies
            self.maxBodyBytes = maxBodyBytes
        }
    }

    public static func build(
        table: RouteTable,
        controllers: [any RouteController],
        authenticators: [any RequestAuthenticator],
        directory: TenantDirectory,
        metrics: PrometheusCollectorRegistry,
        options: Options
    ) throws -> Router<VigilRequestContext> {
        let router = Router(context: VigilRequestContext.self)
        // Router middleware wrap only the routes added after them: all of them come first.
        router.add(middleware: RequestMetadataMiddleware(trustedProxies: options.trustedProxies))
        router.add(middleware: AccessLogMiddleware(registry: metrics))
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ProblemMiddleware(maxBodyBytes: options.maxBodyBytes))
        router.add(middleware: RequestGuardMiddleware(maxBodyBytes: options.maxBodyBytes))
        router.add(middleware: MethodNotAllowedMiddleware(table: table))
        let registrar = RouteRegistrar(router: router, table: table, directory: directory, authenticators: authenticators)
        for controller in controllers { controller.addRoutes(to: registrar) }
        try registrar.finish()
        return router
    }
}
