import Foundation
import Hummingbird
import VigilStorage

/// Serves the hand-kept OpenAPI 3.1 document (`Sources/VigilApp/Resources/openapi.yaml`) as is.
struct OpenAPIController {
    static let path = "/api/openapi.yaml"

    func addRoutes(to router: Router<VigilRequestContext>) {
        router.get("api/openapi.yaml") { _, _ in
            let document = try OpenAPIDocument.text()
            return Response(
                status: .ok,
                headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: document))
            )
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
