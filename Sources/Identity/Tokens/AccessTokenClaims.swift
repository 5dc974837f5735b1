public import Foundation
public import JWTKit

/// The access token's claims (spec 02, decision 10). `scope` names the population only:
/// permissions are checked server-side and never read from the token.
public struct AccessTokenClaims: JWTPayload, Equatable {
    /// The tenant's slug: a token is refused by every other tenant.
    public var tid: String
    /// The principal's UUID.
    public var sub: SubjectClaim
    /// The session's UUID: revoking the session revokes the token.
    public var sid: String
    public var scope: String
    public var amr: [String]
    /// When the session's user authenticated (seconds since 1970).
    public var authTime: Int
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim

    enum CodingKeys: String, CodingKey {
        case tid, sub, sid, scope, amr, iat, exp
        case authTime = "auth_time"
    }

    /// Expiry is checked by ``TokenKeys/verify(_:tenant:now:)`` against the injectable clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
