import Foundation
public import HTTPTypes
public import Hummingbird
public import VigilCore

extension Problem: HTTPResponseError {
    /// The problem's JSON body; `instance` is the path of the request that failed.
    public func body(instance: String?) -> ByteBuffer {
        ByteBuffer(bytes: document(instance: instance))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(instance: request.uri.path)
    }

    public func response(instance: String?) -> Response {
        var headers = self.headers
        headers[.contentType] = Self.mediaType
        return Response(status: status, headers: headers, body: .init(byteBuffer: body(instance: instance)))
    }
}
