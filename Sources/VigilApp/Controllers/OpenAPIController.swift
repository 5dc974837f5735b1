import Foundation
import Hummingbird
import VigilHTTP

/// Serves the hand-kept OpenAPI 3.1 document (`Sources/VigilApp/Resources/openapi.yaml`) as is.
struct OpenAPIController: RouteController {
    /// Read once, when the router is built: a build without its document fails at start-up, not per request.
    let document: ByteBuffer

    init() throws {
        document = ByteBuffer(string: try OpenAPIDocument.text())
    }

    func addRoutes(to routes: RouteRegistrar) {
        routes.add(PlatformRoutes.openAPI) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: document))
        }
    }
}

/// The OpenAPI document shipped with the build.
public enum OpenAPIDocument {
    public static func text() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
