import Crypto
import ExtrasBase64
public import Foundation
import JWTKit
public import Logging
import PostgresNIO
import Synchronization
public import VigilCore
public import VigilStorage

/// Why an access token was refused; every case answers 401 `invalid-token`.
public enum TokenRejection: Error, Equatable, Sendable {
    case malformed, unsupportedAlgorithm, unknownKey, badSignature, expired, otherTenant
}

/// The published key set (`/.well-known/jwks.json`): Ed25519 public keys as RFC 8037 OKP JWKs.
public struct JSONWebKeySet: Codable, Sendable, Equatable {
    public struct Key: Codable, Sendable, Equatable {
        public let kty: String
        public let crv: String
        public let x: String
        public let kid: String
        public let alg: String
        public let use: String
    }

    public let keys: [Key]
}

/// Each tenant's Ed25519 token keys (decision 10): made on first use through the unit of work,
/// private halves sealed with the tenant key, cached per process. The newest key signs; retired
/// keys verify (and stay in the JWKS) until the tokens they signed have expired.
public final class TokenKeys: Sendable {
    struct TenantKeys: Sendable {
        let collection: JWTKeyCollection
        let signingKID: String
        let kids: Set<String>
        let jwks: JSONWebKeySet
        let loadedAt: ContinuousClock.Instant
    }

    /// An unknown `kid` reloads the keys (another process may have rotated), at most this often:
    /// a stream of forged kids must not turn every request into a key load.
    static let reloadInterval = Duration.seconds(10)

    private let cache = Mutex<[String: TenantKeys]>([:])
    let accessTokenLifetime: TimeInterval
    let clock: WallClock

    public init(accessTokenLifetime: TimeInterval, clock: WallClock) {
        self.accessTokenLifetime = accessTokenLifetime
        self.clock = clock
    }

    public func jwks(tenant: TenantDatabase, logger: Logger) async throws -> JSONWebKeySet {
        try await keys(tenant: tenant, logger: logger).jwks
    }

    public func sign(_ claims: AccessTokenClaims, tenant: TenantDatabase, logger: Logger) async throws -> String {
        let keys = try await keys(tenant: tenant, logger: logger)
        return try await keys.collection.sign(claims, kid: JWKIdentifier(string: keys.signingKID))
    }

    /// The claims of `token` if it is an EdDSA token signed by one of `tenant`'s keys, unexpired at
    /// `now`, for that tenant. The header is checked before the signature: `alg` must be `EdDSA`
    /// (no `none`, no HMAC keyed with a public key) and `kid` one of the tenant's.
    public func verify(_ token: String, tenant: TenantDatabase, now: Date, logger: Logger) async throws(TokenRejection) -> AccessTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerBytes = try? String(parts[0]).base64decoded(options: [.base64UrlAlphabet, .omitPaddingCharacter]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else { throw .malformed }
        guard header.alg == "EdDSA" else { throw .unsupportedAlgorithm }
        guard let kid = header.kid else { throw .unknownKey }
        var keys: TenantKeys
        do {
            keys = try await self.keys(tenant: tenant, logger: logger)
            if !keys.kids.contains(kid), ContinuousClock.now - keys.loadedAt > Self.reloadInterval {
                cache.withLock { _ = $0.removeValue(forKey: tenant.databaseName) }
                keys = try await self.keys(tenant: tenant, logger: logger)
            }
        } catch {
            logger.error("Token keys could not be loaded", metadata: ["error": "\(String(describing: error))"])
            throw .unknownKey
        }
        guard keys.kids.contains(kid) else { throw .unknownKey }
        let claims: AccessTokenClaims
        do {
            claims = try await keys.collection.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw .badSignature
        }
        guard claims.exp.value > now else { throw .expired }
        guard claims.tid == tenant.slug else { throw .otherTenant }
        return claims
    }

    struct Header: Decodable {
        let alg: String
        let kid: String?
    }

    func keys(tenant: TenantDatabase, logger: Logger) async throws -> TenantKeys {
        if let cached = cache.withLock({ $0[tenant.databaseName] }) { return cached }
        var loaded = try await load(tenant: tenant, logger: logger)
        if loaded == nil {
            try await create(tenant: tenant, logger: logger)
            loaded = try await load(tenant: tenant, logger: logger)
        }
        guard let loaded else { throw KeyringError.corrupt("token signing keys") }
        cache.withLock { $0[tenant.databaseName] = loaded }
        return loaded
    }

    private func load(tenant: TenantDatabase, logger: Logger) async throws -> TenantKeys? {
        let retiredBefore = clock.now.addingTimeInterval(-accessTokenLifetime)
        return try await tenant.client.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT kid, private_key, retired_at IS NULL FROM token_signing_keys
                WHERE retired_at IS NULL OR retired_at > \(retiredBefore) ORDER BY created_at
                """,
                logger: logger
            ).decode((String, String, Bool).self)
            var stored: [(kid: String, sealed: String, signs: Bool)] = []
            for try await row in rows { stored.append(row) }
            guard let signing = stored.last(where: \.signs) else { return nil }
            let collection = JWTKeyCollection()
            var jwks: [JSONWebKeySet.Key] = []
            for key in stored {
                let raw = try await TenantSecrets.open(
                    key.sealed, place: "token_signing_keys.private_key:\(key.kid)", tenant: tenant, connection: connection, logger: logger
                )
                guard let rawData = Data(base64Encoded: raw) else { throw KeyringError.corrupt("token signing key \(key.kid)") }
                let privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawData)
                await collection.add(eddsa: EdDSA.PrivateKey(backing: privateKey), kid: JWKIdentifier(string: key.kid))
                jwks.append(
                    .init(
                        kty: "OKP", crv: "Ed25519", x: String(base64Encoding: privateKey.publicKey.rawRepresentation, options: [.base64UrlAlphabet, .omitPaddingCharacter]), kid: key.kid,
                        alg: "EdDSA", use: "sig"
                    )
                )
            }
            return TenantKeys(
                collection: collection, signingKID: signing.kid, kids: Set(stored.map(\.kid)), jwks: JSONWebKeySet(keys: jwks),
                loadedAt: .now
            )
        }
    }

    /// Makes the tenant's first key, once, however many processes race to it.
    private func create(tenant: TenantDatabase, logger: Logger) async throws {
        struct MadeElsewhere: Error {}
        do {
            try await tenant.write(.system("identity"), logger: logger) { unit in
                try await unit.connection.query("SELECT pg_advisory_xact_lock(hashtext('vigil.token_signing_keys'))", logger: logger).drain()
                let existing = try await unit.connection.query(
                    "SELECT count(*) FROM token_signing_keys WHERE retired_at IS NULL", logger: logger
                ).decode(Int.self).reduce(into: 0) { $0 += $1 }
                guard existing == 0 else { throw MadeElsewhere() }
                let privateKey = Curve25519.Signing.PrivateKey()
                let kid = String(Hex.string(SHA256.hash(data: privateKey.publicKey.rawRepresentation)).prefix(16))
                let sealed = try TenantSecrets.seal(
                    privateKey.rawRepresentation.base64EncodedString(), place: "token_signing_keys.private_key:\(kid)", tenant: tenant
                )
                try await unit.connection.query(
                    """
                    INSERT INTO token_signing_keys (kid, private_key, public_key, created_at)
                    VALUES (\(kid), \(sealed), \(privateKey.publicKey.rawRepresentation), now())
                    """,
                    logger: logger
                )
                try await unit.record(AuditRecord(action: "token_key.created", entityType: "token_signing_key", entityID: kid))
                try await unit.emit(
                    OutboxEvent(aggregateType: "token_signing_key", aggregateID: kid, type: "token_key.created", payload: ["key_id": .identifier(kid)])
                )
            }
        } catch is MadeElsewhere {
            return
        }
    }
}
