/// Who made a change, as its audit entry records it.
public struct AuditActor: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case staff, customer, system, partner
        /// A caller not (yet) known to be anyone: a registration, a failed login.
        case anonymous
    }

    public var kind: Kind
    public var id: String?
    public var sessionID: String?
    public var ip: String?
    public var userAgent: String?

    public init(kind: Kind, id: String? = nil, sessionID: String? = nil, ip: String? = nil, userAgent: String? = nil) {
        self.kind = kind
        self.id = id
        self.sessionID = sessionID
        self.ip = ip
        self.userAgent = userAgent
    }

    /// Vigil itself: the demo seeder, commands, scheduled jobs.
    public static func system(_ name: String) -> AuditActor {
        AuditActor(kind: .system, id: name)
    }

    /// The scope an `Idempotency-Key` is remembered in: the principal, or nothing for callers without one.
    public var idempotencyScope: String {
        guard kind != .anonymous, let id else { return "" }
        return "\(kind.rawValue):\(id)"
    }
}
