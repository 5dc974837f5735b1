import Foundation
public import Logging
import Synchronization
import VigilCore

/// Log lines produced through ``JSONLogHandler`` during a test, redaction included.
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    public var all: [String] { lines.withLock { $0 } }

    /// A logger writing JSON lines into this capture.
    public func logger(level: Logger.Level = .trace) -> Logger {
        Logger(label: "vigil-test") { label in
            JSONLogHandler(label: label, level: level) { line in self.lines.withLock { $0.append(line) } }
        }
    }
}
