import HTTPTypes
import Hummingbird
import VigilStorage

/// Headers every response carries, errors included: no sniffing, no framing, no referrer leaks,
/// no caching of API data, and a strict content security policy (the console adds its own).
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = VigilRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in Self.headers where response.headers[name] == nil {
            response.headers[name] = value
        }
        return response
    }

    /// Also written by the connection's own refusals, which never reach the router.
    static let headers: [(HTTPField.Name, String)] = [
        (.xContentTypeOptions, "nosniff"),
        (.xFrameOptions, "DENY"),
        (.referrerPolicy, "no-referrer"),
        (.contentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'"),
        (.crossOriginOpenerPolicy, "same-origin"),
        (.crossOriginResourcePolicy, "same-origin"),
        (.strictTransportSecurity, "max-age=63072000; includeSubDomains"),
        (.cacheControl, "no-store"),
    ]
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
    static let crossOriginResourcePolicy = Self("Cross-Origin-Resource-Policy")!
}
