public import VigilCore

/// Decides a route's declared access for a caller, before the handler runs (decision 20).
///
/// Until the permission gateway arrives with access control, a permission route needs an
/// authenticated staff user and nothing more.
public enum AccessGate {
    public enum Decision: Equatable, Sendable {
        case allowed
        /// 401: the route needs a credential and the request had none.
        case authenticationRequired
        /// 403: a credential of the wrong population (a customer token on a staff route).
        case wrongScope(expected: CallerAudience)
    }

    public static func decide(_ access: RouteAccess, caller: CallerAudience?) -> Decision {
        let needed: CallerAudience
        switch access {
        case .anonymous: return .allowed
        case .permission, .anyOf, .ownResources: needed = .staff
        case .customer: needed = .customer
        case .partner: needed = .partner
        }
        guard let caller else { return .authenticationRequired }
        return caller == needed ? .allowed : .wrongScope(expected: needed)
    }
}

extension Problem {
    public static func authenticationRequired() -> Problem {
        Problem(
            status: .unauthorized, slug: "authentication-required", title: "This route needs an access token",
            headers: [.wwwAuthenticate: "Bearer"]
        )
    }

    public static func wrongScope(expected: String) -> Problem {
        Problem(status: .forbidden, slug: "wrong-scope", title: "This route is for \(expected) tokens")
    }
}
