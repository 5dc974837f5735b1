/// Comparison of secrets whose time does not depend on where they differ.
public enum ConstantTime {
    /// Whether `left` and `right` have the same UTF-8 bytes; only a length mismatch returns early
    /// (lengths of codes and tokens are no secret).
    public static func equal(_ left: String, _ right: String) -> Bool {
        let left = Array(left.utf8), right = Array(right.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
