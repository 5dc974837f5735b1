public import VigilStorage

/// The two kinds of people who log in (spec 02). The raw value is the token's `scope` and the
/// `population` column of the identity tables.
public enum Population: String, Sendable, CaseIterable, Codable {
    case staff, customer

    var actorKind: AuditActor.Kind {
        switch self {
        case .staff: return .staff
        case .customer: return .customer
        }
    }

    /// The audit entity a credential of this population belongs to.
    var entityType: String {
        switch self {
        case .staff: return "staff_user"
        case .customer: return "customer"
        }
    }
}
