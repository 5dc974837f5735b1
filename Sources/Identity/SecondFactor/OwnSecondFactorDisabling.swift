/// Whether a principal may switch off their own second factor (spec 02). Staff may not: seed 002
/// requires MFA for staff and admins, so another administrator resets it and the user enrols
/// again at the next sign-in. A customer may, with a code checked at that moment.
public enum OwnSecondFactorDisabling: Sendable, Equatable {
    /// 403 `second-factor-required`.
    case refused
    /// A TOTP code or an unused backup code in the request, checked there and then.
    case withFreshCode

    public static func rule(for population: Population) -> OwnSecondFactorDisabling {
        switch population {
        case .staff: .refused
        case .customer: .withFreshCode
        }
    }
}
