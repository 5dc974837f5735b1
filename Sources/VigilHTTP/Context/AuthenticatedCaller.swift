public import Hummingbird
public import VigilStorage

/// The population a verified credential belongs to; routes' access is decided on it.
public enum CallerAudience: String, Sendable {
    case staff, customer, partner
}

/// Who a verified credential says is calling. The identity domain supplies the concrete type
/// (with its session and methods); the gateway needs only the audience and the actor.
public protocol AuthenticatedCaller: Sendable {
    var audience: CallerAudience { get }
    /// Kind, id and session of the caller, as audit entries record them.
    var actor: AuditActor { get }
}

/// Reads a request's credential (a bearer token, an API key) once tenant resolution has run.
/// Nil means the request goes on anonymously; each route's access then decides.
public protocol RequestAuthenticator: Sendable {
    func authenticate(_ request: Request, context: VigilRequestContext) async throws -> (any AuthenticatedCaller)?
}
