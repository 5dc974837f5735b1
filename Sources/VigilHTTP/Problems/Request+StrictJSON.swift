import Foundation
public import Hummingbird
import VigilCore

extension Request {
    /// Collects the body (bounded by the context's upload limit) and decodes it with ``StrictJSON``.
    public func decodeStrictJSON<T: Codable>(as type: T.Type, context: some RequestContext) async throws -> T {
        guard MediaType(from: headers[.contentType] ?? "")?.isType(.applicationJson) == true else {
            throw Problem.unsupportedMediaType(expected: "application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Problem.bodyTooLarge(limit: context.maxUploadSize)
        }
        return try StrictJSON.decode(T.self, from: Data(buffer.readableBytesView))
    }
}
