import Foundation

/// Finds a key given twice in one JSON object. `JSONSerialization` keeps the last value and
/// `JSONDecoder` the first, so a body with duplicates means one thing to the strict checks and
/// another to the handler; such a body is refused before either reads it.
///
/// Keys compare as Swift strings compare (canonical equivalence), as the dictionaries of both
/// decoders do. The scan expects text `JSONSerialization` already accepted (its nesting limit
/// bounds the recursion here) and gives up, reporting nothing, on anything else.
enum DuplicateKeys {
    /// The JSON Pointer of the first repeated key, if any.
    static func first(in body: Data) -> String? {
        var scanner = Scanner(bytes: Array(body))
        return (try? scanner.value(at: "")) ?? nil
    }

    private struct Malformed: Error {}

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// Scans one value; returns the pointer of a repeated key inside it.
        mutating func value(at pointer: String) throws -> String? {
            skipWhitespace()
            guard index < bytes.count else { throw Malformed() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                return try object(at: pointer)
            case UInt8(ascii: "["):
                return try array(at: pointer)
            case UInt8(ascii: "\""):
                _ = try string()
                return nil
            default:
                while index < bytes.count, !Self.endsScalar(bytes[index]) { index += 1 }
                return nil
            }
        }

        private mutating func object(at pointer: String) throws -> String? {
            index += 1
            var keys = Set<String>()
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return nil
            }
            while true {
                skipWhitespace()
                let key = try string()
                let child = pointer + "/" + StrictJSON.escape(key)
                if !keys.insert(key).inserted { return child }
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                if let found = try value(at: child) { return found }
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return nil
            }
        }

        private mutating func array(at pointer: String) throws -> String? {
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return nil
            }
            var position = 0
            while true {
                if let found = try value(at: "\(pointer)/\(position)") { return found }
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    position += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return nil
            }
        }

        /// A string token, its escapes decoded.
        private mutating func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            var scalars = String.UnicodeScalarView()
            var pendingHighSurrogate: UInt32?
            var raw: [UInt8] = []
            func flushRaw() {
                if !raw.isEmpty { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars) }
                raw.removeAll(keepingCapacity: true)
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    flushRaw()
                    return String(scalars)
                }
                guard byte == UInt8(ascii: "\\") else {
                    raw.append(byte)
                    continue
                }
                flushRaw()
                guard index < bytes.count else { throw Malformed() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let unit = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                        throw Malformed()
                    }
                    index += 4
                    if (0xD800...0xDBFF).contains(unit) {
                        pendingHighSurrogate = unit
                        continue
                    }
                    if (0xDC00...0xDFFF).contains(unit), let high = pendingHighSurrogate {
                        let combined = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                        scalars.append(Unicode.Scalar(combined) ?? "\u{FFFD}")
                    } else {
                        scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                    }
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                default: scalars.append(Unicode.Scalar(escape))
                }
                pendingHighSurrogate = nil
            }
            throw Malformed()
        }

        private mutating func expect(_ byte: UInt8) throws {
            guard peek() == byte else { throw Malformed() }
            index += 1
        }

        private func peek() -> UInt8? {
            index < bytes.count ? bytes[index] : nil
        }

        private mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        private static func endsScalar(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") || byte == 0x20 || byte == 0x09
                || byte == 0x0A || byte == 0x0D
        }
    }
}
