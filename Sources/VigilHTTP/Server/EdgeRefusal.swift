import Foundation
import HTTPTypes
public import NIOCore
public import VigilCore

/// An answer the connection gives itself, before or instead of the router: too many connections,
/// a request head or body that did not arrive in time, a request the HTTP parser or the framing
/// checks refuse. It is a complete HTTP/1.1 problem response with the security headers, written
/// as bytes straight to the socket, and the connection closes after it.
public struct EdgeRefusal: Sendable, Equatable {
    public let problem: Problem

    public init(_ problem: Problem) {
        self.problem = problem
    }

    public func bytes(allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = problem.document(instance: nil)
        var head = "HTTP/1.1 \(problem.status.code) \(problem.status.reasonPhrase)\r\n"
        head += "Content-Type: \(Problem.mediaType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\n"
        for field in problem.headers { head += "\(field.name.rawName): \(field.value)\r\n" }
        for (name, value) in SecurityHeadersMiddleware.headers { head += "\(name.rawName): \(value)\r\n" }
        head += "\r\n"
        var buffer = allocator.buffer(capacity: head.utf8.count + body.count)
        buffer.writeString(head)
        buffer.writeBytes(body)
        return buffer
    }
}

extension Problem {
    /// 503: the server holds as many connections as it may; `Retry-After` says when to come back.
    public static func tooManyConnections() -> Problem {
        Problem(
            status: .serviceUnavailable, slug: "too-many-connections", title: "Too many connections",
            detail: "The server is at its connection limit. Retry shortly.", headers: [.retryAfter: "1"]
        )
    }

    /// 408: the request head or body did not arrive within its timeout.
    public static func requestTimeout(_ part: String) -> Problem {
        Problem(
            status: .requestTimeout, slug: "request-timeout", title: "Request timeout",
            detail: "The request \(part) did not arrive in time; the connection is closed."
        )
    }

    /// 503: the request was read but no answer began in time (a wait nothing else bounded).
    public static func handlerTimeout() -> Problem {
        Problem(
            status: .serviceUnavailable, slug: "request-deadline-exceeded", title: "The request took too long",
            detail: "No answer began in time; the connection is closed. Retry the request later (with the same Idempotency-Key where it has one).",
            headers: [.retryAfter: "2"]
        )
    }
}
