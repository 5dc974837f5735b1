public import Crypto
import Foundation
import VigilCore

/// The root of the keyring: 32 bytes from `VIGIL_MASTER_KEY_FILE` or `VIGIL_MASTER_KEY` that wrap
/// every tenant key. It never reaches the database; only its id does.
public struct MasterKey: Sendable {
    public let key: SymmetricKey
    /// Names the key beside what it wrapped, so a wrong key is reported as such, not as corruption.
    public let id: String

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public init(key: SymmetricKey) {
        self.key = key
        let digest = SHA256.hash(data: Data("vigil-master-key-id".utf8) + key.withUnsafeBytes { Data($0) })
        id = Hex.string(digest.prefix(8))
    }

    /// Parses 32 bytes written as standard base64 or as 64 hex digits (surrounding whitespace ignored).
    public init(encoded: String, source: String) throws {
        let text = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let bytes = Hex.bytes(text) {
            self.init(key: SymmetricKey(data: bytes))
        } else if let bytes = Data(base64Encoded: text), bytes.count == 32 {
            self.init(key: SymmetricKey(data: bytes))
        } else {
            throw Invalid(description: "\(source) must hold 32 bytes as base64 (44 characters) or 64 hex digits")
        }
    }

    /// A fresh random key.
    public static func generate() -> MasterKey {
        MasterKey(key: SymmetricKey(size: .bits256))
    }

    /// The key as base64, the form written to a key file.
    public var base64: String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Reads a key file, refusing one that others than its owner may read.
    public static func load(file path: String) throws -> MasterKey {
        let attributes: [FileAttributeKey: Any]
        let contents: String
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Invalid(description: "the master key file \(path) cannot be read")
        }
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw Invalid(description: "the master key file \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        return try MasterKey(encoded: contents, source: "the master key file \(path)")
    }

    /// Generates a key into `path` (mode 0600) unless one is there already, and loads it.
    public static func loadOrCreate(file path: String) throws -> (key: MasterKey, created: Bool) {
        if FileManager.default.fileExists(atPath: path) { return (try load(file: path), false) }
        let key = generate()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw Invalid(description: "cannot create the master key file \(path)") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data((key.base64 + "\n").utf8))
        try handle.synchronize()
        return (key, true)
    }
}
