import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import VigilApp
import VigilCore
import VigilStorage
import VigilTesting

/// Builds the real application on a fresh test catalog, with the tenants asked for.
struct AppHarness {
    /// Default tenants: `demo` answers on localhost, as in the demo (the test client's Host).
    static let defaultTenants = ["demo": ["localhost", "127.0.0.1"], "acme": ["acme.test"]]

    var configuration = AppConfiguration()
    var logger: Logger = TestPostgres.logger
    var metrics = PrometheusCollectorRegistry()
    var routes: (@Sendable (Router<VigilRequestContext>) -> Void)? = TestRoutes.register

    func application(tenants: [String: [String]] = Self.defaultTenants) async throws -> some ApplicationProtocol {
        let server = try await TestPostgres.shared.environment(tenants: tenants)
        return try await buildApplication(
            configuration,
            database: server,
            dependencies: AppDependencies(logger: logger, metrics: metrics, additionalRoutes: routes)
        )
    }
}

/// Routes only the tests register, to drive the platform's middleware through a handler of
/// their own: a strict JSON endpoint, one that fails unexpectedly, one that echoes the client address.
enum TestRoutes {
    static let paths: Set<String> = ["/test/echo", "/test/failure", "/test/client"]

    struct Echo: Codable, Equatable, ResponseEncodable {
        var email: String
        var phone: String?
        var password: String?
        var amount: Int?
    }

    struct UnexpectedFailure: Error, CustomStringConvertible {
        let description: String
    }

    struct Client: ResponseEncodable {
        let address: String?
    }

    @Sendable static func register(_ router: Router<VigilRequestContext>) {
        router.post("test/echo") { request, context -> Echo in
            try await request.decodeStrictJSON(as: Echo.self, context: context)
        }
        router.get("test/failure") { _, _ -> String in
            throw UnexpectedFailure(description: "SELECT secret FROM customers WHERE email = 'canary.fail@example.org'")
        }
        router.get("test/client") { _, context -> Client in
            Client(address: context.clientAddress?.description)
        }
    }
}
