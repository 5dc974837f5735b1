import HTTPTypes
public import VigilHTTP

/// Identity's routes (spec 02), declared once: the same set for staff under `/api/admin/auth`
/// and for customers under `/api/customer`, plus the published token keys. Every mutating
/// identity route refuses `Idempotency-Key`: its response holds tokens or secrets, which are never
/// stored, or it ends sessions, which a client simply repeats.
public struct IdentityRoutes: Sendable {
    public let login: RouteDeclaration
    public let loginSecondFactor: RouteDeclaration
    public let refresh: RouteDeclaration
    public let logout: RouteDeclaration
    public let sessions: RouteDeclaration
    public let revokeSession: RouteDeclaration
    public let revokeOtherSessions: RouteDeclaration
    public let setupSecondFactor: RouteDeclaration
    public let verifySecondFactor: RouteDeclaration
    public let disableSecondFactor: RouteDeclaration
    public let stepUp: RouteDeclaration
    public let changePassword: RouteDeclaration
    public let setPassword: RouteDeclaration
    /// `GET /api/admin/auth/me`, staff only.
    public let profile: RouteDeclaration?

    init(_ population: Population) {
        let prefix = Self.prefix(population)
        let name = population.rawValue
        // A staff user's own resources are `self`; a customer's are the client API's `customer`.
        let own: RouteAccess = population == .staff ? .ownResources : .customer
        func route(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess, _ operation: String) -> RouteDeclaration {
            RouteDeclaration(method, "\(prefix)/\(path)", access: access, idempotency: .refuses, operationID: "\(name)\(operation)")
        }
        login = route(.post, "login", .anonymous, "Login")
        loginSecondFactor = route(.post, "login/2fa", .anonymous, "LoginSecondFactor")
        refresh = route(.post, "refresh", .anonymous, "Refresh")
        logout = route(.post, "logout", own, "Logout")
        sessions = route(.get, "sessions", own, "ListSessions")
        revokeSession = route(.delete, "sessions/{id}", own, "RevokeSession")
        revokeOtherSessions = route(.post, "sessions/revoke-others", own, "RevokeOtherSessions")
        // A staff user enrols with the enrolment token of their first login, before any session
        // exists: the route is open and the handler accepts that token or a staff session.
        let enrolment: RouteAccess = population == .staff ? .anonymous : .customer
        setupSecondFactor = route(.post, "2fa/setup", enrolment, "SetupSecondFactor")
        verifySecondFactor = route(.post, "2fa/verify", enrolment, "VerifySecondFactor")
        // Staff may not switch off their own second factor: their route only refuses (403) and
        // changes nothing, so the audited-routes walk has nothing to call it for.
        disableSecondFactor = RouteDeclaration(
            .post, "\(prefix)/2fa/disable", access: own, idempotency: .refuses, mutates: OwnSecondFactorDisabling.rule(for: population) != .refused,
            operationID: "\(name)DisableSecondFactor"
        )
        stepUp = route(.post, "step-up", own, "StepUp")
        changePassword = route(.post, "password", own, "ChangePassword")
        setPassword = route(.post, "password/set", .anonymous, "SetPassword")
        profile = population == .staff ? RouteDeclaration(.get, "\(prefix)/me", access: .ownResources, operationID: "getStaffProfile") : nil
    }

    public static let staff = IdentityRoutes(.staff)
    public static let customer = IdentityRoutes(.customer)

    /// `GET /.well-known/jwks.json`: each tenant's public token keys.
    public static let jwks = RouteDeclaration(.get, "/.well-known/jwks.json", access: .anonymous, operationID: "getJWKS", authenticates: false)

    public static func of(_ population: Population) -> IdentityRoutes {
        population == .staff ? staff : customer
    }

    static func prefix(_ population: Population) -> String {
        population == .staff ? "/api/admin/auth" : "/api/customer"
    }

    var all: [RouteDeclaration] {
        [
            login, loginSecondFactor, refresh, logout, sessions, revokeSession, revokeOtherSessions, setupSecondFactor, verifySecondFactor,
            disableSecondFactor, stepUp, changePassword, setPassword,
        ] + (profile.map { [$0] } ?? [])
    }

    /// Every route identity declares.
    public static var declarations: [RouteDeclaration] {
        staff.all + customer.all + [jwks]
    }
}
