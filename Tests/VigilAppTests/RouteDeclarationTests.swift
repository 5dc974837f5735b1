import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VigilApp
import VigilCore
import VigilHTTP
import VigilStorage
import VigilTesting

/// Decision 20 at the application's edge: a route without a declaration cannot be registered,
/// a declaration without a handler stops start-up, and a known path asked with the wrong method is 405.
@Suite struct RouteDeclarationTests {
    /// A controller that binds a handler to a route its domain never declared.
    struct SneakyController: RouteController {
        static let undeclared = RouteDeclaration(.get, "/api/test/sneaky", access: .anonymous, operationID: "testSneaky")

        func addRoutes(to routes: RouteRegistrar) {
            routes.add(Self.undeclared) { _, _ in "sneaked in" }
        }
    }

    static func start(with domain: Domain) async throws {
        var harness = AppHarness()
        harness.extraDomains.append(domain)
        _ = try await harness.application(server: try await AppHarness.environment())
    }

    @Test func registeringARouteWithoutADeclarationStopsStartUp() async throws {
        let sneaky = Domain(name: "sneaky", start: { _ in DomainRuntime(controllers: [SneakyController()]) })
        await #expect {
            try await Self.start(with: sneaky)
        } throws: { error in
            (error as? RouteTableError)?.description.contains("GET /api/test/sneaky was registered without a declaration") == true
        }
    }

    @Test func aDeclaredRouteWithoutAHandlerStopsStartUp() async throws {
        let forgetful = Domain(name: "forgetful", routes: [SneakyController.undeclared], start: { _ in DomainRuntime() })
        await #expect {
            try await Self.start(with: forgetful)
        } throws: { error in
            (error as? RouteTableError)?.description == "Declared routes without a handler: GET /api/test/sneaky."
        }
    }

    @Test func twoDomainsDeclaringOneRouteStopStartUp() async throws {
        let copy = Domain(name: "copy", routes: [TestRoutes.notes], start: { _ in DomainRuntime() })
        await #expect(throws: RouteTableError.self) {
            try await Self.start(with: copy)
        }
    }

    @Test(arguments: [
        ("/api/admin/auth/login", HTTPRequest.Method.get, "POST"),
        ("/api/admin/auth/sessions", .post, "GET"),
        ("/api/customer/sessions/0b9c1f0e-0000-4000-8000-000000000000", .get, "DELETE"),
        ("/healthz", .delete, "GET"),
        // The literal segment wins over `{id}`, as in the router.
        ("/api/admin/auth/sessions/revoke-others", .get, "POST"),
    ])
    func aKnownPathWithTheWrongMethodIs405WithAllow(path: String, method: HTTPRequest.Method, allow: String) async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: path, method: method, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == allow)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(String(buffer: response.body).contains("/problems/method-not-allowed"))
        }
    }

    @Test func thePublishedKeySetReadsNoCredential() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/.well-known/jwks.json", method: .get, headers: [.authorization: "Bearer not-a-token"])
            #expect(response.status == .ok)
            let login = try await client.execute(
                uri: "/api/admin/auth/login", method: .post, headers: [.authorization: "Bearer not-a-token", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"email":"a@b.example","password":"x"}"#)
            )
            #expect(login.status == .unauthorized)
            #expect(String(buffer: login.body).contains("/problems/invalid-token"))
        }
    }

    @Test func anUnknownPathIsStill404() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/admin/auth/nowhere", method: .get)
            #expect(response.status == .notFound)
            #expect(response.headers[.allow] == nil)
        }
    }

    @Test func aPermissionRouteNeedsAStaffTokenUntilTheGatewayChecksPermissions() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let anonymous = try await client.execute(uri: "/api/test/staff-only", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(String(buffer: anonymous.body).contains("/problems/authentication-required"))
        }
    }
}
