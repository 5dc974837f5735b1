import Foundation
import HTTPTypes
import Hummingbird
import VigilCore
public import VigilHTTP

/// Binds identity's declared routes (``IdentityRoutes``) to the identity service; both
/// populations share the same handlers. The gateway has checked tenant, caller and access before
/// a handler runs.
public struct IdentityController: RouteController {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    struct LoginBody: Codable { let email: String; let password: String }
    struct SecondFactorBody: Codable {
        let mfaToken: String
        let code: String
        enum CodingKeys: String, CodingKey { case code; case mfaToken = "mfa_token" }
    }
    struct RefreshBody: Codable {
        let refreshToken: String
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }
    struct CodeBody: Codable { let code: String }
    struct PasswordChangeBody: Codable {
        let currentPassword: String
        let newPassword: String
        enum CodingKeys: String, CodingKey { case currentPassword = "current_password"; case newPassword = "new_password" }
    }
    struct PasswordSetBody: Codable { let token: String; let password: String }

    public func addRoutes(to routes: RouteRegistrar) {
        for population in Population.allCases { addRoutes(population, IdentityRoutes.of(population), to: routes) }
        let identity = identity
        routes.add(IdentityRoutes.jwks) { _, context -> Response in
            let body = try context.responseEncoder.encode(try await identity.tokenKeys.jwks(tenant: try context.requireTenant(), logger: context.logger))
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=60"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
            )
        }
    }

    private func addRoutes(_ population: Population, _ declared: IdentityRoutes, to routes: RouteRegistrar) {
        let identity = identity
        routes.add(declared.login) { request, context in
            let body = try await request.decodeStrictJSON(as: LoginBody.self, context: context)
            return try Self.json(try await identity.login(population, email: body.email, password: body.password, call: call(context)), context)
        }
        routes.add(declared.loginSecondFactor) { request, context in
            let body = try await request.decodeStrictJSON(as: SecondFactorBody.self, context: context)
            return try Self.json(try await identity.loginSecondFactor(population, mfaToken: body.mfaToken, code: body.code, call: call(context)), context)
        }
        routes.add(declared.refresh) { request, context in
            let body = try await request.decodeStrictJSON(as: RefreshBody.self, context: context)
            return try Self.json(try await identity.refresh(population, refreshToken: body.refreshToken, call: call(context)), context)
        }
        routes.add(declared.logout) { _, context in
            try await identity.logout(population, authentication: try context.requireAuthentication(population), call: call(context))
            return Response(status: .noContent)
        }
        routes.add(declared.sessions) { _, context in
            let sessions = try await identity.sessions(population, authentication: try context.requireAuthentication(population), call: call(context))
            return try Self.json(["sessions": sessions], context)
        }
        routes.add(declared.revokeSession) { _, context in
            let authentication = try context.requireAuthentication(population)
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
                throw Problem.notFound("A session id is a UUID.")
            }
            try await identity.revokeSession(population, id: id, authentication: authentication, call: call(context))
            return Response(status: .noContent)
        }
        routes.add(declared.revokeOtherSessions) { _, context in
            let authentication = try context.requireAuthentication(population)
            return try Self.json(try await identity.revokeOtherSessions(population, authentication: authentication, call: call(context)), context)
        }
        routes.add(declared.setupSecondFactor) { request, context in
            let enroller = try enroller(request, context, population)
            return try Self.json(try await identity.setupSecondFactor(population, enroller: enroller, call: call(context)), context)
        }
        routes.add(declared.verifySecondFactor) { request, context in
            let enroller = try enroller(request, context, population)
            let body = try await request.decodeStrictJSON(as: CodeBody.self, context: context)
            return try Self.json(try await identity.verifySecondFactor(population, enroller: enroller, code: body.code, call: call(context)), context)
        }
        routes.add(declared.disableSecondFactor) { request, context in
            let authentication = try context.requireAuthentication(population)
            // Staff are refused whatever they send.
            try IdentityService.requireOwnSecondFactorDisablable(population)
            let body = try await request.decodeStrictJSON(as: CodeBody.self, context: context)
            return try Self.json(
                try await identity.disableSecondFactor(population, authentication: authentication, code: body.code, call: call(context)), context
            )
        }
        routes.add(declared.stepUp) { request, context in
            let authentication = try context.requireAuthentication(population)
            let body = try await request.decodeStrictJSON(as: CodeBody.self, context: context)
            return try Self.json(try await identity.stepUp(population, authentication: authentication, code: body.code, call: call(context)), context)
        }
        routes.add(declared.changePassword) { request, context in
            let authentication = try context.requireAuthentication(population)
            let body = try await request.decodeStrictJSON(as: PasswordChangeBody.self, context: context)
            try await identity.changePassword(
                population, authentication: authentication, current: body.currentPassword, new: body.newPassword, call: call(context)
            )
            return Response(status: .noContent)
        }
        routes.add(declared.setPassword) { request, context in
            let body = try await request.decodeStrictJSON(as: PasswordSetBody.self, context: context)
            try await identity.setPassword(population, token: body.token, password: body.password, call: call(context))
            return Response(status: .noContent)
        }
        if let profile = declared.profile {
            routes.add(profile) { _, context in
                let authentication = try context.requireAuthentication(.staff)
                return try Self.json(try await identity.staffProfile(authentication, tenant: try context.requireTenant(), logger: context.logger), context)
            }
        }
    }

    private func call(_ context: VigilRequestContext) throws -> AuthCall {
        AuthCall(
            tenant: try context.requireTenant(), writeContext: context.writeContext(sourceService: IdentityService.sourceService),
            ip: context.clientAddress, userAgent: context.userAgent, logger: context.logger
        )
    }

    private func enroller(_ request: Request, _ context: VigilRequestContext, _ population: Population) throws -> Enroller {
        if let authentication = context.authentication { return .session(authentication) }
        if let header = request.headers[.authorization], let token = BearerTokenAuthenticator.bearerToken(header),
            OpaqueToken.hasPrefix(OpaqueToken.enrollmentPrefix, token)
        {
            return .enrollmentToken(token)
        }
        throw Problem.authenticationRequired()
    }

    /// A JSON response that no cache keeps (it may hold tokens or secrets).
    static func json(_ value: some Encodable, _ context: VigilRequestContext, status: HTTPResponse.Status = .ok) throws -> Response {
        let body = try context.responseEncoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
