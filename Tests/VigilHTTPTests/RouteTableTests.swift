import HTTPTypes
import Testing
import VigilHTTP

@Suite struct RouteTableTests {
    static let login = RouteDeclaration(.post, "/api/admin/auth/login", access: .anonymous, idempotency: .refuses, operationID: "staffLogin")
    static let sessions = RouteDeclaration(.get, "/api/admin/auth/sessions", access: .ownResources, operationID: "listSessions")
    static let revoke = RouteDeclaration(.delete, "/api/admin/auth/sessions/{id}", access: .ownResources, operationID: "revokeSession")
    static let revokeOthers = RouteDeclaration(.post, "/api/admin/auth/sessions/revoke-others", access: .ownResources, operationID: "revokeOthers")
    static let table = try! RouteTable([login, sessions, revoke, revokeOthers])

    @Test(arguments: [
        ("/api/admin/auth/login", ["POST"]),
        ("/api/admin/auth/sessions", ["GET"]),
        ("/api/admin/auth/sessions/3f2a", ["DELETE"]),
        // A literal segment wins over a parameter, as in the router: DELETE here would be a 404.
        ("/api/admin/auth/sessions/revoke-others", ["POST"]),
        ("/api/admin/auth/sessions/3f2a/extra", []),
        ("/api/unknown", []),
        ("/", []),
    ])
    func allowedMethodsAreTheDeclaredMethodsOfTheMatchingPaths(path: String, expected: [String]) {
        #expect(Self.table.allowedMethods(forRequestPath: path).map(\.rawValue) == expected)
    }

    @Test func aDeclarationIsFoundByItsRegisteredPathWhateverTheParameterSyntax() {
        #expect(Self.table.declaration(.delete, "/api/admin/auth/sessions/{id}") == Self.revoke)
        #expect(Self.table.declaration(.delete, "/api/admin/auth/sessions/:id") == Self.revoke)
        #expect(Self.table.declaration(.get, "/api/admin/auth/login") == nil)
    }

    @Test func aRouteDeclaredTwiceIsRefused() {
        let again = RouteDeclaration(.post, "/api/admin/auth/login", access: .anonymous, operationID: "other")
        #expect(throws: RouteTableError.self) { try RouteTable([Self.login, again]) }
    }

    @Test func twoRoutesWithOneOperationIDAreRefused() {
        let other = RouteDeclaration(.post, "/api/customer/login", access: .anonymous, operationID: "staffLogin")
        #expect(throws: RouteTableError.self) { try RouteTable([Self.login, other]) }
    }

    @Test(arguments: [
        (HTTPRequest.Method.post, RouteAccess.customer, nil as Bool?, true, IdempotencyPolicy.accepts),
        (.delete, .permission("edit_customer_details"), nil, true, .accepts),
        (.get, .customer, nil, false, .refuses),
        (.post, .customer, false, false, .refuses),
        // Anonymous callers would share one key scope: their routes refuse keys by default.
        (.post, .anonymous, nil, true, .refuses),
    ])
    func mutationAndIdempotencyDefaultFromTheMethodAndAccess(
        method: HTTPRequest.Method, access: RouteAccess, mutates: Bool?, expectedMutates: Bool, expectedPolicy: IdempotencyPolicy
    ) {
        let declaration = RouteDeclaration(method, "/api/x", access: access, mutates: mutates, operationID: "x")
        #expect(declaration.mutates == expectedMutates)
        #expect(declaration.idempotency == expectedPolicy)
    }

    @Test(arguments: [
        (RouteAccess.permission("approve_withdrawals"), "approve_withdrawals"),
        (.anyOf(["approve_deposits", "approve_withdrawals"]), "approve_deposits|approve_withdrawals"),
        (.ownResources, "self"),
        (.customer, "customer"),
        (.partner, "partner"),
        (.anonymous, "public"),
    ])
    func accessIsNamedAsTheSpecNamesIt(access: RouteAccess, name: String) {
        #expect(access.description == name)
    }
}

@Suite struct AccessGateTests {
    @Test(arguments: [
        (RouteAccess.anonymous, nil as CallerAudience?, AccessGate.Decision.allowed),
        (.anonymous, .customer, .allowed),
        (.permission("view_customers"), nil, .authenticationRequired),
        (.permission("view_customers"), .staff, .allowed),
        (.permission("view_customers"), .customer, .wrongScope(expected: .staff)),
        (.anyOf(["approve_deposits", "approve_withdrawals"]), .staff, .allowed),
        (.anyOf(["approve_deposits", "approve_withdrawals"]), .partner, .wrongScope(expected: .staff)),
        (.ownResources, nil, .authenticationRequired),
        (.ownResources, .staff, .allowed),
        (.ownResources, .customer, .wrongScope(expected: .staff)),
        (.customer, nil, .authenticationRequired),
        (.customer, .customer, .allowed),
        (.customer, .staff, .wrongScope(expected: .customer)),
        (.partner, .partner, .allowed),
        (.partner, .staff, .wrongScope(expected: .partner)),
    ])
    func theDeclaredAccessDecides(access: RouteAccess, caller: CallerAudience?, expected: AccessGate.Decision) {
        #expect(AccessGate.decide(access, caller: caller) == expected)
    }
}
