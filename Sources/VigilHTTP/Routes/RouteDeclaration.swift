public import HTTPTypes

/// Who may call a route (architecture decision 20, spec 03): exactly one of these per route.
public enum RouteAccess: Sendable, Hashable, CustomStringConvertible {
    /// A staff user holding this permission.
    case permission(String)
    /// A staff user holding any of these; the service then checks the one that matches the object.
    case anyOf([String])
    /// A staff user acting on their own resources (my sessions, my password, `/me`).
    case ownResources
    /// A customer, on their own data (the client API).
    case customer
    /// An affiliate or introducing broker, by API key.
    case partner
    /// Anyone (health, login, registration, published keys).
    case anonymous

    /// The name `GET /api/admin/permissions` shows: the permission, `a|b`, `self`, `customer`, `partner` or `public`.
    public var description: String {
        switch self {
        case .permission(let name): name
        case .anyOf(let names): names.joined(separator: "|")
        case .ownResources: "self"
        case .customer: "customer"
        case .partner: "partner"
        case .anonymous: "public"
        }
    }
}

/// What a route does with an `Idempotency-Key` (decision 20).
public enum IdempotencyPolicy: String, Sendable, Hashable {
    /// The response holds secrets or tokens, which are never stored: a key is a 400.
    case refuses
    /// A key is optional; with one, a retry replays the stored response.
    case accepts
    /// Money: a request without a key is a 400 `idempotency-key-required`.
    case requires
}

/// Whether a route belongs to one tenant (resolved from the Host header) or to the process.
public enum RouteRealm: String, Sendable, Hashable {
    case tenant
    /// Health, metrics and the OpenAPI document: no tenant, no token.
    case platform
}

/// One route, declared once in the domain that owns it. The router, the gateway, the idempotency
/// middleware, the OpenAPI check and the audited-routes walk all read these.
public struct RouteDeclaration: Sendable, Hashable, CustomStringConvertible {
    public let method: HTTPRequest.Method
    /// The full path with `{name}` parameters, e.g. `/api/admin/auth/sessions/{id}`.
    public let path: String
    public let access: RouteAccess
    public let idempotency: IdempotencyPolicy
    /// Whether a successful call may change state (the audited-routes walk calls every one).
    public let mutates: Bool
    /// The `operationId` of the route in the OpenAPI document.
    public let operationID: String
    public let realm: RouteRealm
    /// Whether the gateway reads the caller's credential. A published document (the JWKS) reads
    /// none, so a stray or stale `Authorization` header cannot make it fail.
    public let authenticates: Bool

    /// A route; `mutates` defaults to whether the method can change state, `idempotency` to
    /// `accepts` for those and `refuses` otherwise. An anonymous caller's keys would share one
    /// scope with every other anonymous caller's (a key and body replayed someone else's answer),
    /// so anonymous routes refuse keys unless their declaration says otherwise.
    public init(
        _ method: HTTPRequest.Method,
        _ path: String,
        access: RouteAccess,
        idempotency: IdempotencyPolicy? = nil,
        mutates: Bool? = nil,
        operationID: String,
        realm: RouteRealm = .tenant,
        authenticates: Bool = true
    ) {
        let changesState = mutates ?? ![.get, .head, .options].contains(method)
        self.method = method
        self.path = path
        self.access = access
        self.idempotency = idempotency ?? (changesState && access != .anonymous ? .accepts : .refuses)
        self.mutates = changesState
        self.operationID = operationID
        self.realm = realm
        self.authenticates = authenticates
    }

    /// `METHOD /path`, the key routes are compared and reported by.
    public var description: String { "\(method.rawValue) \(path)" }
}
