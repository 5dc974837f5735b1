import Foundation
public import HTTPTypes
public import Hummingbird
import VigilCore

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

extension TenantDatabase {
    /// The unit of work of a mutating route: writes through ``write(_:logger:_:)`` with the request's
    /// actor, ids and `Idempotency-Key`, and answers `status` with the body's output as JSON.
    public func respond<Output: Encodable>(
        to context: VigilRequestContext,
        status: HTTPResponse.Status = .ok,
        sourceService: String,
        _ body: (inout UnitOfWork) async throws -> Output
    ) async throws -> WrittenResponse {
        let encoder = context.responseEncoder
        let stored = try await perform(context.writeContext(sourceService: sourceService), logger: context.logger) { unit in
            StoredResponse(status: status.code, contentType: "application/json", body: try encoder.encode(try await body(&unit)))
        } storedResponse: { $0 }
        return WrittenResponse(stored: stored)
    }
}
