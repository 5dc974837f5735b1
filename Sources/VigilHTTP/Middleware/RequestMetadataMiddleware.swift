import HTTPTypes
import Foundation
import Hummingbird
import VigilCore
import VigilStorage
import W3CTraceContext

/// Gives every request its request id, trace id, client address and user agent, and answers with
/// `X-Request-Id` and a `traceparent` continuing the caller's trace.
struct RequestMetadataMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    let trustedProxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.acceptedRequestID(request.headers[.xRequestID]) ?? UUID().uuidString.lowercased()
        let incoming = request.headers[.traceparent].flatMap { try? TraceContext(traceParentHeaderValue: $0) }
        let traceID = incoming?.traceID ?? TraceID.random()
        let spanID = SpanID.random()
        context.traceID = traceID.description
        context.identifyClient(
            address: trustedProxies.clientAddress(peer: context.peerAddress, forwardedFor: request.headers[values: .xForwardedFor]),
            userAgent: request.headers[.userAgent]
        )
        context.logger[metadataKey: "request.id"] = .string(context.requestID)
        context.logger[metadataKey: "trace.id"] = .string(context.traceID)

        var response = try await next(request, context)
        response.headers[.xRequestID] = context.requestID
        let outgoing = TraceContext(traceID: traceID, spanID: spanID, flags: incoming?.flags ?? [], state: incoming?.state ?? TraceState([]))
        response.headers[.traceparent] = outgoing.traceParentHeaderValue
        return response
    }

    /// A caller's request id is kept only when it is short and plain (it reaches logs and audit rows).
    static func acceptedRequestID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return value
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
    static let traceparent = Self("traceparent")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
