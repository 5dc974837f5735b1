import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import VigilHTTP

/// The connection guards on an `EmbeddedChannel`, whose clock the tests move by hand.
@Suite struct ConnectionEdgeTests {
    static func settings() -> HTTPEdgeSettings {
        var settings = HTTPEdgeSettings()
        settings.idleTimeout = .seconds(5)
        settings.headTimeout = .seconds(3)
        settings.bodyTimeout = .seconds(4)
        settings.handlerTimeout = .seconds(6)
        return settings
    }

    /// A channel with the guards around NIO's HTTP/1.1 parser, connected.
    static func channel(limiter: ConnectionLimiter = ConnectionLimiter(limit: 8)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ConnectionGuard(settings: settings(), limiter: limiter))
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try pipeline.addHandler(RequestFramingGuard())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        return channel
    }

    /// Everything written to the socket so far, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            text += String(buffer: buffer)
        }
        return text
    }

    static func send(_ text: String, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    @Test func aConnectionOverTheCapIsAnswered503AndClosed() throws {
        let limiter = ConnectionLimiter(limit: 1)
        let first = try Self.channel(limiter: limiter)
        let second = try Self.channel(limiter: limiter)
        let answer = try Self.written(second)
        #expect(answer.hasPrefix("HTTP/1.1 503 "))
        #expect(answer.contains("\"type\":\"/problems/too-many-connections\""))
        #expect(answer.contains("Retry-After: 1\r\n"))
        #expect(answer.contains("X-Content-Type-Options: nosniff\r\n"))
        #expect(!second.isActive)
        #expect(first.isActive)
        #expect(limiter.openConnections == 1)
        _ = try first.finish()
        #expect(limiter.openConnections == 0)
    }

    @Test func anIdleConnectionIsClosedWithoutAnAnswer() throws {
        let channel = try Self.channel()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive)
        #expect(try Self.written(channel).isEmpty)
    }

    @Test func aHeadTrickledPastItsTimeoutIsAnswered408() throws {
        let channel = try Self.channel()
        try Self.send("GET /healthz HT", to: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        try Self.send("TP/1.1\r\nHo", to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        let answer = try Self.written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 408 "))
        #expect(answer.contains("/problems/request-timeout"))
        #expect(answer.contains("Connection: close\r\n"))
        channel.embeddedEventLoop.advanceTime(by: ConnectionGuard.lingerAfterRefusal)
        #expect(!channel.isActive)
    }

    @Test func aBodyNotCompleteInTimeIsAnswered408() throws {
        let channel = try Self.channel()
        try Self.send("POST /api/x HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"a\":", to: channel)
        var parts: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        #expect(parts.count == 2)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 408 "))
    }

    @Test func aCompleteExchangeLeavesTheConnectionToItsIdleTimeout() throws {
        let channel = try Self.channel()
        try Self.send("GET /healthz HTTP/1.1\r\nHost: a.test\r\n\r\n", to: channel)
        while try channel.readInbound(as: HTTPServerRequestPart.self) != nil {}
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "0"])))
        // A response under way streams as long as it needs: nothing may cut it.
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 200 OK"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive)
    }

    @Test func aHandlerThatBeginsNoAnswerInTimeIsCutWith503() throws {
        let channel = try Self.channel()
        try Self.send("GET /api/x HTTP/1.1\r\nHost: a.test\r\n\r\n", to: channel)
        while try channel.readInbound(as: HTTPServerRequestPart.self) != nil {}
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5900))
        #expect(try Self.written(channel).isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let answer = try Self.written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 503 "))
        #expect(answer.contains("/problems/request-deadline-exceeded"))
        // The stuck handler's late answer goes nowhere.
        #expect(throws: (any Error).self) {
            try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        }
    }

    @Test(arguments: [
        ("GET /healthz HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", "more than one Host"),
        ("GET /healthz HTTP/1.1\r\n\r\n", "needs a Host"),
        ("GET http://other.test/healthz HTTP/1.1\r\nHost: a.test\r\n\r\n", "authority of the request target"),
        ("GARBAGE\r\n\r\n", "not valid HTTP/1.1"),
        ("GET /healthz HTTP/1.1\r\nNo-Colon-Here\r\n\r\n", "not valid HTTP/1.1"),
    ])
    func aMalformedRequestIsAProblemWithTheSecurityHeaders(request: String, detail: String) throws {
        let channel = try Self.channel()
        try? Self.send(request, to: channel)
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
        let answer = try Self.written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 400 "))
        #expect(answer.contains("Content-Type: application/problem+json\r\n"))
        #expect(answer.contains("X-Frame-Options: DENY\r\n"))
        #expect(answer.contains(detail))
    }

    @Test func aBadChunkSizeInsideABodyReachesTheHandlerAndNothingFollowsItsAnswer() throws {
        let channel = try Self.channel()
        try Self.send("POST /api/x HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", to: channel)
        #expect(throws: HTTPParserError.self) { try Self.send("zz\r\n{}\r\n0\r\n\r\n", to: channel) }
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: ["Content-Length": "0"])))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(!channel.isActive)
    }

    @Test(arguments: [
        ("/healthz", nil),
        ("*", nil),
        ("http://a.test/healthz", "a.test"),
        ("http://a.test:8080?x=1", "a.test:8080"),
        ("https://[::1]:8443/p", "[::1]:8443"),
    ] as [(String, String?)])
    func theAuthorityOfAnAbsoluteFormTarget(target: String, authority: String?) {
        #expect(RequestFramingGuard.absoluteFormAuthority(of: target) == authority)
    }
}
