public import Configuration
import Foundation
public import VigilHTTP

extension IdentitySettings {
    /// The environment variables identity reads, for `vigil --help`.
    public static let declarations = [
        SettingDeclaration("VIGIL_BCRYPT_COST", "bcrypt cost of new password hashes, 12 to 16 (default 12)"),
        SettingDeclaration("VIGIL_MAX_SESSIONS", "concurrent sessions per user; a login beyond it ends the oldest (default 3)"),
    ]

    /// The settings from `VIGIL_BCRYPT_COST` and `VIGIL_MAX_SESSIONS`; anything but a whole number in
    /// range is an error, never a silent default.
    public static func read(from reader: ConfigReader) throws -> IdentitySettings {
        var settings = IdentitySettings()
        settings.bcryptCost = UInt8(try reader.wholeNumber("vigil.bcrypt.cost", variable: "VIGIL_BCRYPT_COST", default: Int(settings.bcryptCost), range: 12...16))
        settings.maxConcurrentSessions = try reader.wholeNumber(
            "vigil.max.sessions", variable: "VIGIL_MAX_SESSIONS", default: settings.maxConcurrentSessions, range: 1...100
        )
        return settings
    }
}
