/// The one definition of a decimal string Vigil stores money as: `-?[0-9]+(\.[0-9]+)?`.
///
/// Shared by audit balances (``UnitOfWork/record(_:)``) and outbox amounts (``PayloadValue/amount(_:)``),
/// so the two can never disagree on what an amount looks like.
enum DecimalText {
    /// Whether `text` is `-?[0-9]+(\.[0-9]+)?`; scanned by hand: this runs on every money entry.
    static func isDecimal(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let whole = bytes.prefix(while: isDigit)
        guard !whole.isEmpty else { return false }
        let rest = bytes.dropFirst(whole.count)
        if rest.isEmpty { return true }
        guard rest.first == UInt8(ascii: "."), rest.count > 1 else { return false }
        return rest.dropFirst().allSatisfy(isDigit)
    }
}
