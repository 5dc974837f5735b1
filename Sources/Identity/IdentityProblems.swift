public import Foundation
import HTTPTypes
public import VigilCore

extension Problem {
    static func retryAfter(_ seconds: Int) -> HTTPFields {
        [.retryAfter: String(seconds)]
    }

    /// 401: the same answer for an unknown email, a wrong password and a disabled account.
    public static func invalidCredentials() -> Problem {
        Problem(status: .unauthorized, slug: "invalid-credentials", title: "The email or password is wrong")
    }

    /// 429: too many failures in a row for this login; the answer is the same whether or not an account exists.
    public static func accountLocked(retryAfter seconds: Int) -> Problem {
        Problem(
            status: .tooManyRequests, slug: "account-locked", title: "Too many failed attempts: this login is locked for a while",
            detail: "Try again in \(seconds) seconds.", headers: retryAfter(seconds)
        )
    }

    /// 429: too many failed logins from this address.
    public static func addressBlocked(retryAfter seconds: Int) -> Problem {
        Problem(
            status: .tooManyRequests, slug: "too-many-failed-logins", title: "Too many failed logins from this address",
            detail: "Try again in \(seconds) seconds.", headers: retryAfter(seconds)
        )
    }

    public static func invalidMFAToken() -> Problem {
        Problem(
            status: .unauthorized, slug: "invalid-mfa-token", title: "The mfa_token is unknown, used, expired or void",
            detail: "Log in with your password again."
        )
    }

    public static func invalidCode() -> Problem {
        Problem(status: .unauthorized, slug: "invalid-code", title: "The code is wrong or was already used")
    }

    public static func invalidRefreshToken() -> Problem {
        Problem(status: .unauthorized, slug: "invalid-refresh-token", title: "The refresh token is unknown, expired or revoked")
    }

    public static func refreshTokenReused() -> Problem {
        Problem(
            status: .unauthorized, slug: "refresh-token-reused", title: "This refresh token was already used: its session is revoked",
            detail: "A refresh token works once. Presenting a rotated one revokes the whole session; log in again."
        )
    }

    public static func invalidToken(_ detail: String) -> Problem {
        Problem(
            status: .unauthorized, slug: "invalid-token", title: "The access token is not valid here", detail: detail,
            headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""]
        )
    }

    public static func stepUpRequired(window: TimeInterval) -> Problem {
        Problem(
            status: .unauthorized, slug: "step-up-required", title: "This action needs a recent second factor",
            detail: "Verify a code at the step-up route (a code verified in the last \(Int(window / 60)) minutes counts), then retry."
        )
    }

    public static func secondFactorConflict(_ title: String) -> Problem {
        Problem(status: .conflict, slug: "second-factor-state", title: title)
    }

    /// 403: staff cannot switch off their own second factor (spec 02; seed 002 requires MFA for staff).
    public static func secondFactorRequired() -> Problem {
        Problem(
            status: .forbidden, slug: "second-factor-required", title: "Staff cannot switch off their own second factor",
            detail: "Two-factor authentication is required for staff. An administrator can reset it; you then enrol again at your next sign-in."
        )
    }

    public static func passwordRejected(_ violation: PasswordRuleViolation, pointer: String) -> Problem {
        Problem(
            status: .unprocessableContent, slug: "password-rejected", title: "The password does not meet the password policy",
            detail: violation.detail, errors: [.init(pointer: pointer, code: violation.rawValue, detail: violation.detail)]
        )
    }

    public static func invalidPasswordToken() -> Problem {
        Problem(status: .unauthorized, slug: "invalid-password-token", title: "The link is unknown, used or expired")
    }

    static func invalidField(_ pointer: String, code: String, detail: String) -> Problem {
        Problem(
            status: .unprocessableContent, slug: "validation-failed", title: "The request breaks a rule", detail: detail,
            errors: [.init(pointer: pointer, code: code, detail: detail)]
        )
    }
}
