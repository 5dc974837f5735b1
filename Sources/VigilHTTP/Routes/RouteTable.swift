public import HTTPTypes

/// Why a set of route declarations cannot make a router; start-up stops with it.
public struct RouteTableError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    static func duplicate(_ route: String) -> RouteTableError {
        RouteTableError(description: "Route \(route) is declared more than once.")
    }

    static func undeclared(_ route: String) -> RouteTableError {
        RouteTableError(description: "Route \(route) was registered without a declaration; declare it in its domain's route list.")
    }

    static func unbound(_ routes: [String]) -> RouteTableError {
        RouteTableError(description: "Declared routes without a handler: \(routes.joined(separator: ", ")).")
    }

    static func duplicateOperation(_ operationID: String) -> RouteTableError {
        RouteTableError(description: "Operation id \(operationID) is used by more than one route.")
    }
}

/// Every declared route of the application: the one table decision 20 asks for.
public struct RouteTable: Sendable {
    public let declarations: [RouteDeclaration]
    private let byKey: [String: RouteDeclaration]

    /// Refuses two declarations of one method and path, or two routes with one operation id.
    public init(_ declarations: [RouteDeclaration]) throws(RouteTableError) {
        var byKey: [String: RouteDeclaration] = [:]
        var operations: Set<String> = []
        for declaration in declarations {
            let key = Self.key(declaration.method, declaration.path)
            guard byKey[key] == nil else { throw .duplicate(declaration.description) }
            guard operations.insert(declaration.operationID).inserted else { throw .duplicateOperation(declaration.operationID) }
            byKey[key] = declaration
        }
        self.declarations = declarations
        self.byKey = byKey
    }

    /// The declaration of `method` on the registered path `path` (parameters as `{name}` or `:name`).
    public func declaration(_ method: HTTPRequest.Method, _ path: String) -> RouteDeclaration? {
        byKey[Self.key(method, path)]
    }

    /// The methods declared on the path the router resolves `requestPath` (a concrete path) to,
    /// sorted; empty when no declared path matches it. As the router does, a literal segment wins
    /// over a parameter. A request with another method is answered 405 with these.
    public func allowedMethods(forRequestPath requestPath: String) -> [HTTPRequest.Method] {
        let segments = Self.segments(requestPath)
        let matching = declarations.filter { Self.matches(pattern: Self.segments($0.path), segments) }
        guard let best = matching.map({ Self.segments($0.path) }).max(by: { Self.isLessSpecific($0, than: $1) }) else { return [] }
        let methods = matching.filter { Self.segments($0.path).map(Self.isParameter) == best.map(Self.isParameter) }.map(\.method)
        return Array(Set(methods)).sorted { $0.rawValue < $1.rawValue }
    }

    /// Whether `pattern` is less specific than `other`: at the first segment where one has a
    /// parameter and the other a literal, the literal is more specific.
    static func isLessSpecific(_ pattern: [Substring], than other: [Substring]) -> Bool {
        for (mine, theirs) in zip(pattern, other) where isParameter(mine) != isParameter(theirs) {
            return isParameter(mine)
        }
        return false
    }

    static func key(_ method: HTTPRequest.Method, _ path: String) -> String {
        "\(method.rawValue) /\(segments(path).map { isParameter($0) ? "{}" : String($0) }.joined(separator: "/"))"
    }

    static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    static func isParameter(_ segment: Substring) -> Bool {
        (segment.hasPrefix("{") && segment.hasSuffix("}")) || segment.hasPrefix(":")
    }

    static func matches(pattern: [Substring], _ segments: [Substring]) -> Bool {
        pattern.count == segments.count && zip(pattern, segments).allSatisfy { isParameter($0) || $0 == $1 }
    }
}
