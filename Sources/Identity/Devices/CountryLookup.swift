import CGeoIP
import Synchronization
public import VigilCore

/// IP address → ISO country code through Debian's libgeoip and geoip-database (decision 16).
/// The databases are opened once, in memory; without them (or for private and loopback
/// addresses) the country is unknown.
public final class CountryLookup: Sendable {
    public static let shared = CountryLookup()

    private struct Databases: @unchecked Sendable {
        let v4: UnsafeMutablePointer<GeoIP>?
        let v6: UnsafeMutablePointer<GeoIP>?
    }

    private let databases: Mutex<Databases>

    init(v4Path: String = "/usr/share/GeoIP/GeoIP.dat", v6Path: String = "/usr/share/GeoIP/GeoIPv6.dat") {
        let flags = Int32(GEOIP_MEMORY_CACHE.rawValue) | Int32(GEOIP_SILENCE.rawValue)
        databases = Mutex(Databases(v4: GeoIP_open(v4Path, flags), v6: GeoIP_open(v6Path, flags)))
    }

    /// The two-letter country of `address`, or nil when unknown.
    public func country(of address: IPAddress) -> String? {
        let text = address.description
        let code = databases.withLock { databases -> UnsafePointer<CChar>? in
            if text.contains(":") {
                guard let v6 = databases.v6 else { return nil }
                return GeoIP_country_code_by_addr_v6(v6, text)
            }
            guard let v4 = databases.v4 else { return nil }
            return GeoIP_country_code_by_addr(v4, text)
        }
        guard let code else { return nil }
        let country = String(cString: code)
        return country.count == 2 && country != "--" ? country : nil
    }
}
