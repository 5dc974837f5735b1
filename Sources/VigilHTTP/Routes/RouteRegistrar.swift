public import Hummingbird
public import VigilStorage

/// A domain's HTTP controller: a struct holding its services that binds a handler to each of its
/// domain's declared routes (the hummingbird-examples shape, with declarations instead of paths).
public protocol RouteController: Sendable {
    func addRoutes(to routes: RouteRegistrar)
}

/// The only way a handler reaches the router: bound to a declaration of the route table, behind
/// the gateway that declaration drives. ``finish()`` stops start-up when a declaration has no
/// handler or the router holds a route no declaration names.
public final class RouteRegistrar {
    let router: Router<VigilRequestContext>
    let table: RouteTable
    let directory: TenantDirectory
    let authenticators: [any RequestAuthenticator]
    private var bound: Set<String> = []
    private var failure: RouteTableError?

    public init(router: Router<VigilRequestContext>, table: RouteTable, directory: TenantDirectory, authenticators: [any RequestAuthenticator]) {
        self.router = router
        self.table = table
        self.directory = directory
        self.authenticators = authenticators
    }

    /// Binds `handler` to `declaration`, which must be in the table (else start-up fails).
    public func add(
        _ declaration: RouteDeclaration,
        _ handler: @escaping @Sendable (Request, VigilRequestContext) async throws -> some ResponseGenerator
    ) {
        guard table.declaration(declaration.method, declaration.path) == declaration else {
            failure = failure ?? .undeclared(declaration.description)
            return
        }
        guard bound.insert(declaration.description).inserted else {
            failure = failure ?? .duplicate(declaration.description)
            return
        }
        router.group()
            .add(middleware: RouteGateway(declaration: declaration, directory: directory, authenticators: authenticators))
            .on(RouterPath(declaration.path), method: declaration.method, use: handler)
    }

    /// Checks that every declaration has its handler and every registered route its declaration.
    public func finish() throws(RouteTableError) {
        if let failure { throw failure }
        let unbound = table.declarations.map(\.description).filter { !bound.contains($0) }
        guard unbound.isEmpty else { throw .unbound(unbound) }
        for route in router.routes where table.declaration(route.method, route.path.description) == nil {
            throw .undeclared("\(route.method.rawValue) \(route.path)")
        }
    }
}
