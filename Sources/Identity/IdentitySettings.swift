public import Foundation

/// The knobs of identity (spec 02), with the spec's defaults. Tests lower the bcrypt cost;
/// production keeps cost ≥ 12 (``read(from:)`` enforces it).
public struct IdentitySettings: Sendable {
    public var bcryptCost: UInt8 = 12
    public var accessTokenLifetime: TimeInterval = 15 * 60
    public var refreshTokenLifetime: TimeInterval = 7 * 24 * 3600
    /// How long an `mfa_token` (password verified, second factor due) stays usable.
    public var mfaTokenLifetime: TimeInterval = 5 * 60
    public var enrollmentTokenLifetime: TimeInterval = 15 * 60
    /// How long the enrolment link printed by `vigil user create` stays usable.
    public var enrolmentLinkLifetime: TimeInterval = 72 * 3600
    public var maxConcurrentSessions = 3
    /// A second factor verified within this window satisfies a sensitive route.
    public var stepUpWindow: TimeInterval = 5 * 60
    public var lockout = LockoutPolicy()
    /// Wrong codes one `mfa_token` allows before it is void.
    public var maxCodeFailuresPerChallenge = 5

    public init() {}
}
