import Foundation
/// Splits a migration file into its statements.
///
/// PostgresNIO sends every query through the extended protocol, which takes one statement at a
/// time. Semicolons inside string literals (`'…'`, `E'…'` with backslash escapes), quoted
/// identifiers, dollar-quoted bodies (`$$…$$`, `$tag$…$tag$`) and comments (`--`, nested `/* */`)
/// do not end a statement. Statements holding only comments are dropped.
public enum SQLStatements {
    public static func split(_ sql: String) -> [String] {
        let characters = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var hasCode = false
        var index = 0

        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if hasCode, !text.isEmpty { statements.append(text) }
            current = String.UnicodeScalarView()
            hasCode = false
        }
        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        func take(_ count: Int) {
            for _ in 0..<count where index < characters.count {
                current.append(characters[index])
                index += 1
            }
        }

        while index < characters.count {
            let character = characters[index]
            switch character {
            case "-" where peek(1) == "-":
                while index < characters.count, characters[index] != "\n" { take(1) }
            case "/" where peek(1) == "*":
                var depth = 0
                repeat {
                    if characters[index] == "/" && peek(1) == "*" {
                        depth += 1
                        take(2)
                    } else if characters[index] == "*" && peek(1) == "/" {
                        depth -= 1
                        take(2)
                    } else {
                        take(1)
                    }
                } while depth > 0 && index < characters.count
            case "'":
                hasCode = true
                let backslashEscapes = index > 0 && (characters[index - 1] == "E" || characters[index - 1] == "e")
                take(1)
                while index < characters.count {
                    if backslashEscapes && characters[index] == "\\" {
                        take(2)
                    } else if characters[index] == "'" {
                        take(1)
                        if peek(0) == "'" { take(1) } else { break }
                    } else {
                        take(1)
                    }
                }
            case "\"":
                hasCode = true
                take(1)
                while index < characters.count {
                    if characters[index] == "\"" {
                        take(1)
                        if peek(0) == "\"" { take(1) } else { break }
                    } else {
                        take(1)
                    }
                }
            case "$":
                hasCode = true
                if let tag = dollarTag(characters, at: index) {
                    take(tag.count)
                    while index < characters.count && !matches(characters, at: index, tag) { take(1) }
                    take(tag.count)
                } else {
                    take(1)
                }
            case ";":
                index += 1
                flush()
            default:
                if !character.properties.isWhitespace { hasCode = true }
                take(1)
            }
        }
        flush()
        return statements
    }

    /// The opening `$tag$` at `start`, if one is there (`$1` parameters are not tags).
    private static func dollarTag(_ characters: [Unicode.Scalar], at start: Int) -> [Unicode.Scalar]? {
        var end = start + 1
        while end < characters.count {
            let character = characters[end]
            if character == "$" { return Array(characters[start...end]) }
            let isTagCharacter = character == "_" || character.properties.isAlphabetic || (end > start + 1 && ("0"..."9").contains(character))
            guard isTagCharacter else { return nil }
            end += 1
        }
        return nil
    }

    private static func matches(_ characters: [Unicode.Scalar], at index: Int, _ tag: [Unicode.Scalar]) -> Bool {
        index + tag.count <= characters.count && Array(characters[index..<index + tag.count]) == tag
    }
}
