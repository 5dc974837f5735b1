import Foundation
public import Hummingbird
import HTTPTypes
import VigilCore
public import VigilStorage

/// The identity routes of spec 02, for staff under `/api/admin/auth/…` and for customers under
/// `/api/customer/…`; both populations share the same handlers.
public struct IdentityController: Sendable {
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

    /// Every mutating identity path (as registered): they refuse `Idempotency-Key`. Their
    /// responses carry tokens or secrets, which are never stored, or end sessions, which a client
    /// simply repeats.
    public static let routesRefusingIdempotencyKeys: Set<String> = Set(
        Population.allCases.flatMap { population in
            [
                "login", "login/2fa", "refresh", "2fa/setup", "2fa/verify", "2fa/disable", "step-up", "logout", "password", "password/set",
                "sessions/{id}", "sessions/revoke-others",
            ].map {
                "/api/\(prefix(population))/\($0)"
            }
        }
    )

    static func prefix(_ population: Population) -> String {
        population == .staff ? "admin/auth" : "customer"
    }

    public func addRoutes(to api: RouterGroup<VigilRequestContext>) {
        for population in Population.allCases { addRoutes(population, to: api.group(RouterPath(Self.prefix(population)))) }
    }

    private func addRoutes(_ population: Population, to group: RouterGroup<VigilRequestContext>) {
        let identity = identity
        group.post("login") { request, context in
            let body = try await request.decodeStrictJSON(as: LoginBody.self, context: context)
            return try Self.json(try await identity.login(population, email: body.email, password: body.password, call: call(context)), context)
        }
        group.post("login/2fa") { request, context in
            let body = try await request.decodeStrictJSON(as: SecondFactorBody.self, context: context)
            return try Self.json(try await identity.loginSecondFactor(population, mfaToken: body.mfaToken, code: body.code, call: call(context)), context)
        }
        group.post("refresh") { request, context in
            let body = try await request.decodeStrictJSON(as: RefreshBody.self, context: context)
            return try Self.json(try await identity.refresh(population, refreshToken: body.refreshToken, call: call(context)), context)
        }
        group.post("logout") { _, context in
            try await identity.logout(population, authentication: try context.requireAuthentication(population), call: call(context))
            return Response(status: .noContent)
        }
        group.get("sessions") { _, context in
            let sessions = try await identity.sessions(population, authentication: try context.requireAuthentication(population), call: call(context))
            return try Self.json(["sessions": sessions], context)
        }
        group.delete("sessions/{id}") { _, context in
            let authentication = try context.requireAuthentication(population)
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
                throw Problem.notFound("A session id is a UUID.")
            }
            try await identity.revokeSession(population, id: id, authentication: authentication, call: call(context))
            return Response(status: .noContent)
        }
        group.post("sessions/revoke-others") { _, context in
            let authentication = try context.requireAuthentication(population)
            return try Self.json(try await identity.revokeOtherSessions(population, authentication: authentication, call: call(context)), context)
        }
        group.post("2fa/setup") { request, context in
            let enroller = try enroller(request, context, population)
            return try Self.json(try await identity.setupSecondFactor(population, enroller: enroller, call: call(context)), context)
        }
        group.post("2fa/verify") { request, context in
            let enroller = try enroller(request, context, population)
            let body = try await request.decodeStrictJSON(as: CodeBody.self, context: context)
            return try Self.json(try await identity.verifySecondFactor(population, enroller: enroller, code: body.code, call: call(context)), context)
        }
        group.post("2fa/disable") { _, context in
            let authentication = try context.requireAuthentication(population)
            return try Self.json(try await identity.disableSecondFactor(population, authentication: authentication, call: call(context)), context)
        }
        group.post("step-up") { request, context in
            let authentication = try context.requireAuthentication(population)
            let body = try await request.decodeStrictJSON(as: CodeBody.self, context: context)
            return try Self.json(try await identity.stepUp(population, authentication: authentication, code: body.code, call: call(context)), context)
        }
        group.post("password") { request, context in
            let authentication = try context.requireAuthentication(population)
            let body = try await request.decodeStrictJSON(as: PasswordChangeBody.self, context: context)
            try await identity.changePassword(
                population, authentication: authentication, current: body.currentPassword, new: body.newPassword, call: call(context)
            )
            return Response(status: .noContent)
        }
        group.post("password/set") { request, context in
            let body = try await request.decodeStrictJSON(as: PasswordSetBody.self, context: context)
            try await identity.setPassword(population, token: body.token, password: body.password, call: call(context))
            return Response(status: .noContent)
        }
        if population == .staff {
            group.get("me") { _, context in
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
        if let header = request.headers[.authorization], let token = AuthenticationMiddleware.bearerToken(header),
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
