import NIOCore
import NIOHTTP1

/// Sits between the HTTP/1.1 parser and the conversion to HTTP types, where the request is still
/// as the client framed it. It refuses what RFC 9112 calls malformed — more than one `Host`, an
/// HTTP/1.1 request without one, an absolute-form target whose authority is not the `Host` — and
/// turns a parse error between requests into a problem answer instead of an empty 400. It tells
/// ``ConnectionGuard`` where the request stands so its timers follow the request.
final class RequestFramingGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Exchange {
        case idle
        case inProgress(responseStarted: Bool)
        /// Answered before the body ended: the rest of the body is read and dropped.
        case draining
        /// The body broke framing while the handler may still answer; nothing may follow its answer.
        case lastResponse
        case finished
    }

    private var exchange = Exchange.idle
    private var requestEnded = false
    private var refusing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            if let refusal = Self.framingRefusal(of: head) {
                refuse(context: context, with: refusal)
                return
            }
            exchange = .inProgress(responseStarted: false)
            requestEnded = false
            notify(context: context, .headReceived)
        case .body:
            break
        case .end:
            requestEnded = true
            if case .draining = exchange { exchange = .idle }
            notify(context: context, .requestEnded)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        switch exchange {
        case .idle:
            // Between requests: nothing else will answer this one.
            refuse(context: context, with: EdgeRefusal(.malformedRequest("The request is not valid HTTP/1.1.")))
        case .inProgress(responseStarted: false):
            // Inside a body the handler is reading: its read fails and it answers 400; nothing may follow.
            exchange = .lastResponse
            context.fireErrorCaught(error)
        case .inProgress(responseStarted: true), .draining, .lastResponse, .finished:
            exchange = .finished
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch (unwrapOutboundIn(data), exchange) {
        case (_, .finished):
            promise?.fail(ChannelError.outputClosed)
        case (.head, .inProgress):
            exchange = .inProgress(responseStarted: true)
            notify(context: context, .responseStarted)
            context.write(data, promise: promise)
        case (.end, .lastResponse):
            exchange = .finished
            context.write(data, promise: promise)
            context.flush()
            context.close(promise: nil)
        case (.end, _):
            exchange = requestEnded ? .idle : .draining
            context.write(data, promise: promise)
            notify(context: context, .responseEnded)
        default:
            context.write(data, promise: promise)
        }
    }

    private func refuse(context: ChannelHandlerContext, with refusal: EdgeRefusal) {
        refusing = true
        exchange = .finished
        notify(context: context, .refuse(refusal))
    }

    private func notify(context: ChannelHandlerContext, _ event: RequestPhaseEvent) {
        context.triggerUserOutboundEvent(event, promise: nil)
    }

    /// Why RFC 9112 §3.2 makes `head` unanswerable, if it does.
    static func framingRefusal(of head: HTTPRequestHead) -> EdgeRefusal? {
        let hosts = head.headers["Host"]
        if hosts.count > 1 {
            return EdgeRefusal(.malformedRequest("The request has more than one Host header."))
        }
        if hosts.isEmpty, head.version.major == 1, head.version.minor >= 1 {
            return EdgeRefusal(.malformedRequest("An HTTP/1.1 request needs a Host header."))
        }
        if let authority = absoluteFormAuthority(of: head.uri), authority.lowercased() != hosts.first?.lowercased() {
            return EdgeRefusal(.malformedRequest("The authority of the request target is not the Host header."))
        }
        return nil
    }

    /// The authority of an absolute-form target (`http://host:port/path`), nil for origin form.
    static func absoluteFormAuthority(of target: String) -> String? {
        guard !target.hasPrefix("/"), target != "*", let schemeEnd = target.range(of: "://") else { return nil }
        let rest = target[schemeEnd.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return String(rest[..<end])
    }
}
