import Foundation
import Hummingbird
import Testing
import VigilApp
import VigilStorage
import VigilTesting

/// The hand-kept OpenAPI document and the router must list the same operations, both ways.
@Suite struct OpenAPIDocumentTests {
    /// `(METHOD, path)` pairs of the document, read from its `paths:` block: a path is a key indented
    /// two spaces, an operation a method key indented four. `{id}` parameters compare as `{}`.
    static func documentedOperations() throws -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var currentPath: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        for line in try OpenAPIDocument.text().split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if let first = line.first, first != " " { break }
            if line.hasPrefix("  /") && line.hasSuffix(":") && !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    ") && !line.hasPrefix("     "), let path = currentPath {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if methods.contains(String(key)) { operations.insert("\(key.uppercased()) \(normalise(path))") }
            }
        }
        return operations
    }

    static func normalise(_ path: String) -> String {
        path.replacing(/\{[^}]+\}/, with: "{}").replacing(/:[A-Za-z_]+/, with: "{}")
    }

    @Test func everyRegisteredRouteIsDocumentedAndEveryDocumentedRouteIsRegistered() async throws {
        let server = try await TestPostgres.shared.environment()
        let directory = TenantDirectory(server: server, poolSize: 1, keyring: Keyring(masterKey: .generate()), logger: TestPostgres.logger)
        let router = try buildRouter(AppConfiguration(), directory: directory, dependencies: AppDependencies(logger: TestPostgres.logger, masterKey: .generate()))
        let registered = Set(router.routes.map { "\($0.method.rawValue) \(Self.normalise($0.path.description))" })
        let documented = try Self.documentedOperations()
        #expect(!registered.isEmpty)
        #expect(registered.subtracting(documented).isEmpty, "registered but not documented")
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered")
    }

    @Test func theCheckCatchesAnUndocumentedRoute() async throws {
        let server = try await TestPostgres.shared.environment()
        let directory = TenantDirectory(server: server, poolSize: 1, keyring: Keyring(masterKey: .generate()), logger: TestPostgres.logger)
        let router = try buildRouter(AppConfiguration(), directory: directory, dependencies: AppDependencies(logger: TestPostgres.logger, masterKey: .generate(), additionalRoutes: TestRoutes.register))
        let registered = Set(router.routes.map { "\($0.method.rawValue) \(Self.normalise($0.path.description))" })
        #expect(registered.subtracting(try Self.documentedOperations()) == ["POST /test/echo", "GET /test/failure", "GET /test/client", "POST /api/test/notes", "POST /api/test/slow-notes", "POST /api/test/unaudited"])
    }

    @Test func theDocumentIsServedAsIs() async throws {
        let app = try await AppHarness().application()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == (try OpenAPIDocument.text()))
        }
    }
}
