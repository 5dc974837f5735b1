public import Foundation
public import VigilHTTP
public import VigilStorage

/// Who a request's access token says is asking, confirmed against their session row (spec 02).
/// Permissions are never read from the token; access control looks them up.
public struct Authentication: AuthenticatedCaller, Equatable {
    /// `staff` or `customer`: the token's `scope`.
    public var scope: String
    public var principalID: UUID
    public var sessionID: UUID
    /// Authentication methods of the session (`pwd`, `otp`).
    public var methods: [String]
    public var authenticatedAt: Date
    /// When a second factor was last verified in this session (login or step-up), from the session row.
    public var secondFactorAt: Date?

    public init(scope: String, principalID: UUID, sessionID: UUID, methods: [String], authenticatedAt: Date, secondFactorAt: Date?) {
        self.scope = scope
        self.principalID = principalID
        self.sessionID = sessionID
        self.methods = methods
        self.authenticatedAt = authenticatedAt
        self.secondFactorAt = secondFactorAt
    }

    public var audience: CallerAudience {
        scope == Population.staff.rawValue ? .staff : .customer
    }

    public var actor: AuditActor {
        AuditActor(
            kind: audience == .staff ? .staff : .customer, id: principalID.uuidString.lowercased(), sessionID: sessionID.uuidString.lowercased()
        )
    }
}
