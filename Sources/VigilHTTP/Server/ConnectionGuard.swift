import NIOCore

/// What ``RequestFramingGuard`` tells ``ConnectionGuard`` about the request in progress: sent as
/// outbound user events, so the two handlers share no state.
enum RequestPhaseEvent {
    case headReceived
    case requestEnded
    case responseStarted
    case responseEnded
    case refuse(EdgeRefusal)
}

/// The first handler of every client connection, next to the socket: it holds the connection's
/// place under the cap (a connection over it is answered 503 at once), closes a connection idle
/// too long, and answers 408 to a request head or body that does not arrive in time. Its own
/// answers are bytes written straight to the socket, when no response is under way.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Phase {
        case awaitingRequest
        case readingHead
        case readingBody(responseStarted: Bool, responseEnded: Bool)
        case responding(started: Bool)
        case refused
    }

    /// How long a refused connection stays half-open so that the client reads the answer
    /// instead of a reset.
    static let lingerAfterRefusal: TimeAmount = .seconds(1)

    private let settings: HTTPEdgeSettings
    private let limiter: ConnectionLimiter
    private var phase = Phase.awaitingRequest
    private var activated = false
    private var admitted = false
    private var deadline: Scheduled<Void>?

    init(settings: HTTPEdgeSettings, limiter: ConnectionLimiter) {
        self.settings = settings
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { activate(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        activate(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if admitted {
            admitted = false
            limiter.release()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .refused:
            return
        case .awaitingRequest:
            phase = .readingHead
            arm(context: context, after: settings.headTimeout)
        case .readingHead, .readingBody, .responding:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .refused = phase {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(data, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? RequestPhaseEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed(())
        switch (event, phase) {
        case (_, .refused):
            return
        case (.refuse(let refusal), _):
            refuse(context: context, with: refusal)
        case (.headReceived, _):
            phase = .readingBody(responseStarted: false, responseEnded: false)
            arm(context: context, after: settings.bodyTimeout)
        case (.responseStarted, .readingBody(_, let ended)):
            phase = .readingBody(responseStarted: true, responseEnded: ended)
        case (.responseEnded, .readingBody):
            // Answered before the body was read: the body timer keeps bounding what is left of it.
            phase = .readingBody(responseStarted: true, responseEnded: true)
        case (.requestEnded, .readingBody(_, let responseEnded)):
            if responseEnded {
                awaitRequest(context: context)
            } else {
                phase = .responding(started: false)
                arm(context: context, after: settings.handlerTimeout)
            }
        case (.responseStarted, .responding):
            // A response under way may stream for as long as it needs.
            phase = .responding(started: true)
            disarm()
        case (.responseEnded, .responding):
            awaitRequest(context: context)
        case (.requestEnded, _), (.responseStarted, _), (.responseEnded, _):
            break
        }
    }

    private func activate(context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        guard limiter.admit() else {
            phase = .refused
            // Over the cap nothing may linger: the socket is closed as soon as the answer is written.
            let answer = EdgeRefusal(.tooManyConnections()).bytes(allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(answer)), promise: nil)
            context.close(promise: nil)
            return
        }
        admitted = true
        arm(context: context, after: settings.idleTimeout)
    }

    private func awaitRequest(context: ChannelHandlerContext) {
        phase = .awaitingRequest
        arm(context: context, after: settings.idleTimeout)
    }

    private func arm(context: ChannelHandlerContext, after delay: TimeAmount) {
        deadline?.cancel()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            deadline = nil
            expire(context: context)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    private func expire(context: ChannelHandlerContext) {
        switch phase {
        case .awaitingRequest, .refused, .responding(started: true):
            context.close(promise: nil)
        case .responding(started: false):
            refuse(context: context, with: EdgeRefusal(.handlerTimeout()))
        case .readingHead:
            refuse(context: context, with: EdgeRefusal(.requestTimeout("head")))
        case .readingBody(let responseStarted, _):
            if responseStarted {
                context.close(promise: nil)
            } else {
                refuse(context: context, with: EdgeRefusal(.requestTimeout("body")))
            }
        }
    }

    /// Writes `refusal`, stops writing (later writes fail), then closes once the client had a
    /// moment to read the answer.
    private func refuse(context: ChannelHandlerContext, with refusal: EdgeRefusal) {
        phase = .refused
        disarm()
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(refusal.bytes(allocator: context.channel.allocator))), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerAfterRefusal) {
                context.close(promise: nil)
            }
        }
    }
}
