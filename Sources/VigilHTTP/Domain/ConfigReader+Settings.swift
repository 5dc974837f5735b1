public import Configuration
import Foundation

/// A setting was given a value that is not allowed; `vigil` stops with this message.
public struct InvalidSetting: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

extension ConfigReader {
    /// A whole-number setting: absent gives the default; anything but a whole number in `range` is
    /// an error naming the variable, never a silent default.
    public func wholeNumber(_ key: ConfigKey, variable: String, default value: Int, range: ClosedRange<Int>) throws(InvalidSetting) -> Int {
        guard let text = string(forKey: key) else { return value }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw InvalidSetting(description: "\(variable): '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// A duration setting in seconds (decimals allowed): absent gives the default; anything but a
    /// number of seconds in `range` is an error naming the variable.
    public func seconds(_ key: ConfigKey, variable: String, default value: Duration, range: ClosedRange<Double>) throws(InvalidSetting) -> Duration {
        guard let text = string(forKey: key) else { return value }
        guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite, range.contains(number) else {
            throw InvalidSetting(description: "\(variable): '\(text)' is not a number of seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return .milliseconds(Int64((number * 1000).rounded()))
    }
}
