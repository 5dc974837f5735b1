import Foundation
import Hummingbird
import Testing
import VigilApp
import VigilHTTP
import VigilStorage
import VigilTesting

/// The hand-kept OpenAPI document and the router must list the same operations, both ways.
@Suite struct OpenAPIDocumentTests {
    /// `METHOD path operationId` of each operation of the document, read from its `paths:` block: a
    /// path is a key indented two spaces, an operation a method key indented four, its
    /// `operationId` a key indented six. `{id}` parameters compare as `{}`.
    static func documentedOperations() throws -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var currentPath: String?
        var currentMethod: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        for line in try OpenAPIDocument.text().split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if let first = line.first, first != " " { break }
            if line.hasPrefix("  /") && line.hasSuffix(":") && !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    ") && !line.hasPrefix("     ") {
                let key = String(line.trimmingCharacters(in: .whitespaces).dropLast())
                currentMethod = methods.contains(key) ? key : nil
            } else if line.hasPrefix("      operationId: "), let path = currentPath, let method = currentMethod {
                let operation = line.dropFirst("      operationId: ".count)
                operations.insert("\(method.uppercased()) \(normalise(path)) \(operation)")
            }
        }
        return operations
    }

    static func normalise(_ path: String) -> String {
        path.replacing(/\{[^}]+\}/, with: "{}").replacing(/:[A-Za-z_]+/, with: "{}")
    }

    static func declared(_ domains: [Domain]) throws -> Set<String> {
        Set(try routeTable(domains).declarations.map { "\($0.method.rawValue) \(normalise($0.path)) \($0.operationID)" })
    }

    @Test func everyDeclaredRouteIsDocumentedAndEveryDocumentedRouteIsDeclared() throws {
        let declared = try Self.declared(VigilDomains.all)
        let documented = try Self.documentedOperations()
        #expect(!declared.isEmpty)
        #expect(declared.subtracting(documented).isEmpty, "declared but not documented (or under another operationId)")
        #expect(documented.subtracting(declared).isEmpty, "documented but not declared")
    }

    @Test func theCheckCatchesAnUndocumentedRoute() throws {
        let undocumented = try Self.declared(AppHarness().domains).subtracting(try Self.documentedOperations())
        #expect(undocumented == Set(TestRoutes.declarations.map { "\($0.method.rawValue) \($0.path) \($0.operationID)" }))
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
