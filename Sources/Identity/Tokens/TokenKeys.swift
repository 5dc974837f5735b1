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

/// Each tenant's access-token keys (decision 10), kept by the shared ``SigningKeys``: made on first
/// use through the unit of work, private halves sealed with the tenant key, cached per process for
/// at most ``maximumAge``. The newest key signs; retired keys verify (and stay in the JWKS) until the
/// tokens they signed have expired.
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
    /// Keys are read again this often, so a rotation made by another process (or `vigil
    /// token-keys rotate`) reaches every process, and a retired key stops verifying once its tokens expired.
    static let maximumAge = Duration.seconds(60)

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
        if let cached = cache.withLock({ $0[tenant.databaseName] }), ContinuousClock.now - cached.loadedAt < Self.maximumAge { return cached }
        var loaded = try await load(tenant: tenant, logger: logger)
        if loaded == nil {
            try await SigningKeys.ensureCurrent(.accessTokens, tenant: tenant, context: .system("identity"), now: clock.now, logger: logger)
            loaded = try await load(tenant: tenant, logger: logger)
        }
        guard let loaded else { throw KeyringError.corrupt("token signing keys") }
        cache.withLock { $0[tenant.databaseName] = loaded }
        return loaded
    }

    /// Retires the tenant's signing key and makes its successor (`vigil token-keys rotate`). Tokens
    /// the retired key signed verify until they expire; other processes pick the new key up within
    /// ``maximumAge``.
    public func rotate(tenant: TenantDatabase, context: WriteContext, logger: Logger) async throws -> (kid: String, retiredKID: String?) {
        let rotated = try await SigningKeys.rotate(.accessTokens, tenant: tenant, context: context, now: clock.now, logger: logger)
        cache.withLock { _ = $0.removeValue(forKey: tenant.databaseName) }
        return rotated
    }

    private func load(tenant: TenantDatabase, logger: Logger) async throws -> TenantKeys? {
        // Another process may sign with a key for up to `maximumAge` after it was retired here.
        let retiredAfter = clock.now.addingTimeInterval(-accessTokenLifetime - Double(Self.maximumAge.components.seconds))
        let stored = try await SigningKeys.verifying(.accessTokens, tenant: tenant, retiredAfter: retiredAfter, logger: logger)
        guard let signing = stored.last(where: { $0.retiredAt == nil }) else { return nil }
        let collection = JWTKeyCollection()
        var jwks: [JSONWebKeySet.Key] = []
        for key in stored {
            await collection.add(eddsa: EdDSA.PrivateKey(backing: key.privateKey), kid: JWKIdentifier(string: key.kid))
            let x = String(base64Encoding: key.privateKey.publicKey.rawRepresentation, options: [.base64UrlAlphabet, .omitPaddingCharacter])
            jwks.append(.init(kty: "OKP", crv: "Ed25519", x: x, kid: key.kid, alg: "EdDSA", use: "sig"))
        }
        return TenantKeys(
            collection: collection, signingKID: signing.kid, kids: Set(stored.map(\.kid)), jwks: JSONWebKeySet(keys: jwks), loadedAt: .now
        )
    }
}

extension SigningKeyPurpose {
    /// The keys that sign access tokens, published in each tenant's JWKS.
    public static let accessTokens = SigningKeyPurpose(table: "token_signing_keys", entityType: "token_signing_key", actionPrefix: "token_key")
}
