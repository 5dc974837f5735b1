/// Random strings from an alphabet, drawn from the system's secure generator: TOTP secrets,
/// backup codes, demo passwords.
public enum RandomText {
    public static func make(length: Int, from alphabet: String) -> String {
        let symbols = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in symbols[Int(generator.next(upperBound: UInt(symbols.count)))] })
    }
}
