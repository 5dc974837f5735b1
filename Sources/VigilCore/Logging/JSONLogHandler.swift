public import Foundation
public import Logging

/// Writes one JSON object per line (`time`, `level`, `message`, `label`, then metadata keys) and
/// passes every message and value through ``LogRedactor`` first. Secret-named keys are masked
/// whatever their value.
public struct JSONLogHandler: LogHandler {
    /// Where finished lines go; a test passes a closure that keeps them.
    public typealias Sink = @Sendable (String) -> Void

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: Sink

    public init(label: String, level: Logger.Level = .info, sink: @escaping Sink = JSONLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }

        var object: [String: Any] = [
            "time": Self.timestamp(Date()),
            "level": event.level.rawValue,
            "message": LogRedactor.redact(event.message.description),
            "label": label,
        ]
        for (key, value) in merged {
            if LogRedactor.isSecretKey(key) {
                object[key] = LogRedactor.mask
            } else if LogRedactor.isIdentifierKey(key), case .string(let identifier) = value, Self.isPlainIdentifier(identifier) {
                object[key] = identifier
            } else {
                object[key] = Self.redacted(value)
            }
        }
        if event.level >= .error {
            object["source"] = "\(event.file):\(event.line)"
        }
        guard
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
            let line = String(data: data, encoding: .utf8)
        else { return }
        sink(line)
    }

    /// Letters, digits, hyphens and underscores only: anything else under an id key is redacted as usual.
    static func isPlainIdentifier(_ value: String) -> Bool {
        value.utf8.count <= 128 && value.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    static func redacted(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return LogRedactor.redact(string)
        case .stringConvertible(let convertible as any BinaryInteger): return Int64(convertible)
        case .stringConvertible(let convertible as Double): return convertible
        case .stringConvertible(let convertible): return LogRedactor.redact(convertible.description)
        case .array(let values): return values.map(redacted)
        case .dictionary(let dictionary):
            var object: [String: Any] = [:]
            for (key, value) in dictionary {
                object[key] = LogRedactor.isSecretKey(key) ? LogRedactor.mask : redacted(value)
            }
            return object
        }
    }

    /// RFC 3339 UTC with microseconds (Foundation's ISO 8601 formatter stops at milliseconds).
    public static func timestamp(_ date: Date) -> String {
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let seconds = microseconds / 1_000_000
        let fraction = microseconds % 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
            fraction
        )
    }

    public static let standardError: Sink = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
