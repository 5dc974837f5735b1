public import Foundation

/// Reads JSON request bodies the strict way decision 9 requires: `application/json` only, UTF-8,
/// no NUL character anywhere (PostgreSQL cannot store U+0000), no field the target type does not
/// know, no key twice in one object. Anything it cannot read is a 400 problem with a JSON
/// Pointer to the culprit.
public enum StrictJSON {
    /// Decodes `body` into `T`, refusing what a lenient `JSONDecoder` would silently accept.
    public static func decode<T: Codable>(_ type: T.Type, from body: Data) throws(Problem) -> T {
        guard String(data: body, encoding: .utf8) != nil else {
            throw .malformedRequest("The body is not valid UTF-8.")
        }
        let tree: Any
        do {
            tree = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw .malformedRequest("The body is not valid JSON.")
        }
        if let pointer = DuplicateKeys.first(in: body) {
            throw .duplicateKey(at: pointer)
        }
        if let pointer = firstNULCharacter(in: tree, at: "") {
            throw .malformedRequest(
                "Text may not contain the NUL character (U+0000).",
                errors: [.init(pointer: pointer, code: "nul-character", detail: "NUL characters are not allowed.")]
            )
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: body)
        } catch let error as DecodingError {
            throw problem(for: error)
        } catch {
            throw .malformedRequest("The body could not be decoded.")
        }
        if let pointer = firstUnknownField(in: tree, knownShape: value) {
            throw .malformedRequest(
                "The body has a field this endpoint does not accept.",
                errors: [.init(pointer: pointer, code: "unknown-field", detail: "Unknown field.")]
            )
        }
        return value
    }

    /// The JSON Pointer of the first string or key holding U+0000, if any.
    static func firstNULCharacter(in node: Any, at pointer: String) -> String? {
        switch node {
        case let string as String:
            return string.unicodeScalars.contains("\u{0}") ? pointer : nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = firstNULCharacter(in: element, at: "\(pointer)/\(index)") { return found }
            }
            return nil
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                let child = "\(pointer)/\(escape(key))"
                if key.unicodeScalars.contains("\u{0}") { return child }
                if let found = firstNULCharacter(in: object[key]!, at: child) { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// Finds a key present in the request but absent when the decoded value is encoded again.
    ///
    /// Re-encoding is what tells which keys the type knows without each type listing them by hand.
    /// A key sent as `null` that the type leaves out is tolerated: it sets nothing.
    static func firstUnknownField<T: Encodable>(in tree: Any, knownShape value: T) -> String? {
        let encoder = JSONEncoder()
        guard
            let data = try? encoder.encode(value),
            let known = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else { return nil }
        return firstUnknownField(in: tree, known: known, at: "")
    }

    private static func firstUnknownField(in node: Any, known: Any, at pointer: String) -> String? {
        switch (node, known) {
        case let (object as [String: Any], knownObject as [String: Any]):
            for key in object.keys.sorted() {
                let child = "\(pointer)/\(escape(key))"
                guard let knownChild = knownObject[key] else {
                    if object[key] is NSNull { continue }
                    return child
                }
                if let found = firstUnknownField(in: object[key]!, known: knownChild, at: child) { return found }
            }
            return nil
        case let (array as [Any], knownArray as [Any]) where array.count == knownArray.count:
            for index in array.indices {
                if let found = firstUnknownField(in: array[index], known: knownArray[index], at: "\(pointer)/\(index)") {
                    return found
                }
            }
            return nil
        default:
            return nil
        }
    }

    static func problem(for error: DecodingError) -> Problem {
        func pointer(_ path: [any CodingKey]) -> String {
            path.map { "/" + escape($0.intValue.map(String.init) ?? $0.stringValue) }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context):
            let path = pointer(context.codingPath + [key])
            return .malformedRequest(
                "A required field is missing.",
                errors: [.init(pointer: path, code: "required", detail: "This field is required.")]
            )
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return .malformedRequest(
                "A field has the wrong type.",
                errors: [.init(pointer: pointer(context.codingPath), code: "type", detail: "This field has the wrong type.")]
            )
        case .dataCorrupted(let context):
            return .malformedRequest(
                "A field holds a value that cannot be read.",
                errors: [.init(pointer: pointer(context.codingPath), code: "invalid", detail: "This value cannot be read.")]
            )
        @unknown default:
            return .malformedRequest("The body could not be decoded.")
        }
    }

    /// RFC 6901 escaping of one reference token.
    static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
