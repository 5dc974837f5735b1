import ExtrasBase64
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PostgresNIO
import Testing
import VigilCore
import VigilTesting

/// Login flows driven over HTTP, with people seeded straight into a tenant's database (a
/// password hash needs no key; second factors are enrolled through the routes themselves).
struct IdentityFlows {
    let client: any TestClientProtocol
    let database: PostgresClient

    struct Person {
        let id: UUID
        let email: String
        let password: String
    }

    struct Tokens: Decodable {
        let accessToken: String
        let refreshToken: String
        let sessionID: String
        let evictedSessionID: String?
        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token", refreshToken = "refresh_token", sessionID = "session_id"
            case evictedSessionID = "evicted_session_id"
        }
    }

    static let password = "correct horse battery"

    /// A login credential (and a staff user row for staff) with a known password and no second factor.
    func seed(_ population: Population, email: String = "\(UUID().uuidString.lowercased())@example.test") async throws -> Person {
        let id = UUID()
        let hash = try await PasswordHasher(cost: 4).hash(Self.password)
        if population == .staff {
            try await database.query(
                "INSERT INTO staff_users (id, email, name, role, created_at) VALUES (\(id), \(email), 'Test', 'admin', now())",
                logger: TestPostgres.logger
            )
        }
        try await database.query(
            """
            INSERT INTO login_credentials (population, principal_id, email, password_hash, created_at)
            VALUES (\(population.rawValue), \(id), \(email), \(hash), now())
            """,
            logger: TestPostgres.logger
        )
        return Person(id: id, email: email, password: Self.password)
    }

    static func prefix(_ population: Population) -> String {
        population == .staff ? "/api/admin/auth" : "/api/customer"
    }

    func post(_ path: String, _ body: String, bearer: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func get(_ path: String, bearer: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await client.execute(uri: path, method: .get, headers: headers, body: nil)
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    static func body(_ members: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: members, options: [.sortedKeys]), as: UTF8.self)
    }

    func login(_ population: Population, _ person: Person, password: String? = nil) async throws -> TestResponse {
        try await post("\(Self.prefix(population))/login", Self.body(["email": person.email, "password": password ?? person.password]))
    }

    /// A customer without 2FA logs straight in.
    func customerTokens(_ person: Person) async throws -> Tokens {
        let response = try await login(.customer, person)
        #expect(response.status == .ok)
        return try JSONDecoder().decode(Tokens.self, from: Data(buffer: response.body))
    }

    /// Enrols TOTP through setup and verify (with an access token or an enrolment token) and
    /// returns the secret, the backup codes and the verify response.
    func enrol(_ population: Population, bearer: String) async throws -> (secret: TOTPSecret, backupCodes: [String], response: TestResponse) {
        let setup = try await post("\(Self.prefix(population))/2fa/setup", "", bearer: bearer)
        #expect(setup.status == .ok, "setup answered \(setup.status): \(String(buffer: setup.body))")
        let base32 = try #require(try json(setup)["secret"] as? String)
        let secret = TOTPSecret(ascii: String(decoding: try base32.base32decoded(), as: UTF8.self))
        let verify = try await post(
            "\(Self.prefix(population))/2fa/verify", Self.body(["code": TOTPCode.code(secret: secret, step: TOTPCode.step(at: Date()))]), bearer: bearer
        )
        #expect(verify.status == .ok, "verify answered \(verify.status): \(String(buffer: verify.body))")
        let codes = try #require(try json(verify)["backup_codes"] as? [String])
        return (secret, codes, verify)
    }

    /// A staff user through their whole first login: password, enrolment, tokens.
    func staffWithTOTP() async throws -> (person: Person, secret: TOTPSecret, backupCodes: [String], tokens: Tokens) {
        let person = try await seed(.staff)
        let login = try await login(.staff, person)
        let token = try #require(try json(login)["enrollment_token"] as? String)
        let (secret, codes, verify) = try await enrol(.staff, bearer: token)
        return (person, secret, codes, try JSONDecoder().decode(Tokens.self, from: Data(buffer: verify.body)))
    }

    /// A customer with TOTP enabled, logged in once.
    func customerWithTOTP() async throws -> (person: Person, secret: TOTPSecret, backupCodes: [String], tokens: Tokens) {
        let person = try await seed(.customer)
        let tokens = try await customerTokens(person)
        let (secret, codes, _) = try await enrol(.customer, bearer: tokens.accessToken)
        return (person, secret, codes, tokens)
    }

    /// The `mfa_token` of a password login of an enrolled principal.
    func mfaToken(_ population: Population, _ person: Person) async throws -> String {
        let response = try await login(population, person)
        return try #require(try json(response)["mfa_token"] as? String)
    }

    /// A code of the step after the last one used, so it is never a replay.
    static func freshCode(_ secret: TOTPSecret, offset: Int64 = 1) -> String {
        TOTPCode.code(secret: secret, step: TOTPCode.step(at: Date()) + offset)
    }
}
