public import Foundation

/// A principal's login credential row (`login_credentials`), with the staff user's status.
struct Credential: Sendable {
    let population: Population
    let principalID: UUID
    let email: String
    let passwordHash: String?
    let disabled: Bool
    let sealedTOTPSecret: String?
    let totpEnabled: Bool
    let totpLastStep: Int64?
    let sealedPendingSecret: String?

    var secretPlace: String { Self.secretPlace(population, principalID) }
    var pendingSecretPlace: String { "login_credentials.totp_pending_secret:\(population.rawValue):\(principalID.uuidString.lowercased())" }

    /// Where a TOTP secret is sealed: the additional data that binds it to its row.
    static func secretPlace(_ population: Population, _ principalID: UUID) -> String {
        "login_credentials.totp_secret:\(population.rawValue):\(principalID.uuidString.lowercased())"
    }
}
