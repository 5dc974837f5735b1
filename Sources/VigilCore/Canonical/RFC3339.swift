public import Foundation

/// RFC 3339 UTC timestamps with exactly six fractional digits and `Z`, as hashed entries carry.
public enum RFC3339 {
    /// Formats a count of microseconds since the Unix epoch (exact: no floating point involved).
    public static func string(microsecondsSinceEpoch microseconds: Int64) -> String {
        let (seconds, fraction) = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        let (wholeSeconds, micros) = fraction < 0 ? (seconds - 1, fraction + 1_000_000) : (seconds, fraction)
        var time = time_t(wholeSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, micros
        )
    }
}

extension RFC3339 {
    /// Formats `date`, to the microsecond.
    public static func string(_ date: Date) -> String {
        string(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }
}
