import Foundation
public import HTTPTypes
public import Hummingbird
import VigilCore
public import VigilStorage

/// A mutating route's answer, already encoded inside the unit of work that produced it (so the
/// response kept for an `Idempotency-Key` is exactly the one sent).
public struct WrittenResponse: ResponseGenerator, Sendable {
    public let stored: StoredResponse

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        stored.httpResponse
    }
}

extension StoredResponse {
    /// The response as sent, for the first request and for every replay.
    public var httpResponse: Response {
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}

extension VigilRequestContext {
    /// The response path: one unit of work in the request's tenant with the request's actor, ids and
    /// `Idempotency-Key`, answering `status` with the body's output as JSON. With a key, the
    /// response is stored in the same transaction, so a retry replays it and writes nothing.
    public func respond<Output: Encodable>(
        status: HTTPResponse.Status = .ok,
        sourceService: String,
        _ body: (inout UnitOfWork) async throws -> Output
    ) async throws -> WrittenResponse {
        let encoder = responseEncoder
        let stored = try await requireTenant().write(writeContext(sourceService: sourceService), logger: logger) { unit in
            try await body(&unit)
        } response: { output in
            StoredResponse(status: status.code, contentType: "application/json", body: try encoder.encode(output))
        }
        return WrittenResponse(stored: stored)
    }
}
