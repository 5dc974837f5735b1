public import Foundation
public import HTTPTypes

/// An RFC 9457 problem: the one shape every error of Vigil's API takes.
///
/// `type` is the stable URI `/problems/<slug>`; clients switch on it, never on `title` or `detail`.
/// Validation problems list the offending fields in `errors`.
public struct Problem: Error, Sendable, Equatable {
    /// One field that broke a rule; `pointer` is an RFC 6901 JSON Pointer into the request body.
    public struct FieldError: Codable, Sendable, Equatable {
        public var pointer: String
        public var code: String
        public var detail: String

        public init(pointer: String, code: String, detail: String) {
            self.pointer = pointer
            self.code = code
            self.detail = detail
        }
    }

    public var status: HTTPResponse.Status
    public var slug: String
    public var title: String
    public var detail: String?
    public var errors: [FieldError]
    /// Extra response headers, such as `Retry-After` or `Allow`.
    public var headers: HTTPFields
    /// RFC 9457 extension members, such as the failing checks of `/readyz`.
    public var extensions: [String: JSONValue]

    public init(
        status: HTTPResponse.Status,
        slug: String,
        title: String,
        detail: String? = nil,
        errors: [FieldError] = [],
        headers: HTTPFields = [:],
        extensions: [String: JSONValue] = [:]
    ) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extensions = extensions
    }

    public var type: String { "/problems/\(slug)" }
}

// MARK: - The problems the platform itself raises

extension Problem {
    public static func malformedRequest(_ detail: String, errors: [FieldError] = []) -> Problem {
        Problem(status: .badRequest, slug: "malformed-request", title: "The request could not be read", detail: detail, errors: errors)
    }

    /// 400: one JSON object names the same key twice; decoders disagree on which one counts.
    public static func duplicateKey(at pointer: String) -> Problem {
        Problem(
            status: .badRequest, slug: "duplicate-key", title: "A JSON object repeats a key",
            detail: "Each key may appear once in an object.",
            errors: [.init(pointer: pointer, code: "duplicate-key", detail: "This key appears more than once in its object.")]
        )
    }

        public static func unsupportedMediaType(expected: String) -> Problem {
        Problem(
            status: .unsupportedMediaType,
            slug: "unsupported-media-type",
            title: "Unsupported media type",
            detail: "This endpoint accepts \(expected) only."
        )
    }

    public static func bodyTooLarge(limit: Int) -> Problem {
        Problem(
            status: .contentTooLarge,
            slug: "body-too-large",
            title: "Request body too large",
            detail: "The request body exceeds the limit of \(limit) bytes."
        )
    }

    public static func notFound(_ detail: String = "No resource exists at this address.") -> Problem {
        Problem(status: .notFound, slug: "not-found", title: "Not found", detail: detail)
    }

    /// 405 with `Allow` naming the methods the path does answer.
    public static func methodNotAllowed(allowed: [HTTPRequest.Method]) -> Problem {
        let methods = allowed.map(\.rawValue).joined(separator: ", ")
        return Problem(
            status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
            detail: "This path answers \(methods).", headers: [.allow: methods]
        )
    }

    public static func unknownTenant() -> Problem {
        Problem(
            status: .notFound,
            slug: "unknown-tenant",
            title: "Unknown tenant",
            detail: "No tenant is registered for this host name."
        )
    }

    public static func serviceUnavailable(_ detail: String) -> Problem {
        Problem(status: .serviceUnavailable, slug: "service-unavailable", title: "Service unavailable", detail: detail)
    }

    /// 503 with `Retry-After`: PostgreSQL did not serve the request in time; the same request may be retried.
    public static func databaseUnavailable(retryAfterSeconds: Int) -> Problem {
        Problem(
            status: .serviceUnavailable, slug: "database-unavailable", title: "The database is unavailable",
            detail: "The database did not answer in time. Retry the request later (with the same Idempotency-Key where it has one).",
            headers: [.retryAfter: String(retryAfterSeconds)]
        )
    }

    /// 503 from `/readyz`, naming each check and whether it passed.
    public static func notReady(checks: [String: Bool]) -> Problem {
        Problem(
            status: .serviceUnavailable, slug: "not-ready", title: "Not ready",
            detail: "A check failed: " + checks.filter { !$0.value }.keys.sorted().joined(separator: ", ") + ".",
            extensions: ["checks": .object(checks.mapValues { .string($0 ? "ok" : "failing") })]
        )
    }

    public static func internalError() -> Problem {
        Problem(
            status: .internalServerError,
            slug: "internal-error",
            title: "Internal error",
            detail: "The server could not complete the request. It has been logged with the request id."
        )
    }
}

// MARK: - Rendering

extension Problem {
    public static let mediaType = "application/problem+json"

    /// The JSON document of the problem; `instance` is the path of the request that failed.
    public func document(instance: String?) -> Data {
        let document = Document(
            type: type,
            title: title,
            status: Int(status.code),
            detail: detail,
            instance: instance,
            errors: errors.isEmpty ? nil : errors,
            extensions: extensions
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and ints cannot fail.
        return (try? encoder.encode(document)) ?? Data()
    }

    private struct Document: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String?
        var instance: String?
        var errors: [FieldError]?
        var extensions: [String: JSONValue]

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(type, forKey: Key(stringValue: "type"))
            try container.encode(title, forKey: Key(stringValue: "title"))
            try container.encode(status, forKey: Key(stringValue: "status"))
            try container.encodeIfPresent(detail, forKey: Key(stringValue: "detail"))
            try container.encodeIfPresent(instance, forKey: Key(stringValue: "instance"))
            try container.encodeIfPresent(errors, forKey: Key(stringValue: "errors"))
            for (name, value) in extensions { try container.encode(value, forKey: Key(stringValue: name)) }
        }
    }
}
