public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Vigil's HTTP/1.1 child channel: Hummingbird's, with the edge guards around the parser —
/// ``ConnectionGuard`` at the socket (cap, idle, head and body timeouts) and
/// ``RequestFramingGuard`` between the parser and the HTTP types (RFC 9112 framing, parse errors
/// answered as problems).
public struct VigilHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let settings: HTTPEdgeSettings
    let limiter: ConnectionLimiter

    public init(responder: @escaping HTTPChannelHandler.Responder, settings: HTTPEdgeSettings, limiter: ConnectionLimiter) {
        self.responder = responder
        self.settings = settings
        self.limiter = limiter
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionGuard(settings: settings, limiter: limiter), position: .first)
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: .init()
            )
            try pipeline.addHandler(RequestFramingGuard())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            // Its idle timeout stays off (ConnectionGuard keeps time); it still closes connections on graceful shutdown.
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 through ``VigilHTTPChannel``, every connection counted by `limiter`.
    public static func vigil(settings: HTTPEdgeSettings, limiter: ConnectionLimiter) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in VigilHTTPChannel(responder: responder, settings: settings, limiter: limiter) }
    }
}
