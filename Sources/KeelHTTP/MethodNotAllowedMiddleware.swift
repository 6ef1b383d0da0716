import Hummingbird

/// Hummingbird's router answers a known path with a method it has no route for as 404. Installed
/// after every route, this middleware wraps only the router's not-found responder: a path some
/// route matches gets `405` with the error envelope and an `Allow` header; other paths stay 404.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private struct Endpoint: Sendable {
        var path: RouterPath
        var methods: [HTTPRequest.Method]
    }

    private let endpoints: [Endpoint]

    init(routes: [Router<Context>.RouteDescription]) {
        var endpoints: [Endpoint] = []
        for route in routes {
            if let index = endpoints.firstIndex(where: { $0.path == route.path }) {
                endpoints[index].methods.append(route.method)
            } else {
                endpoints.append(Endpoint(path: route.path, methods: [route.method]))
            }
        }
        self.endpoints = endpoints
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let allowed = allowedMethods(path: request.uri.path) else { return try await next(request, context) }
        let list = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        return APIError(.methodNotAllowed, code: "method_not_allowed", "Method \(request.method.rawValue) is not allowed here; allowed: \(list)")
            .response(headers: [.allow: list])
    }

    /// The methods of the endpoint the router would pick for `path` (literal segments win over
    /// captures, as in the router), or nil when no route matches the path.
    func allowedMethods(path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/")
        var best: (endpoint: Endpoint, literals: [Bool])?
        for endpoint in endpoints {
            guard let literals = match(endpoint.path, segments) else { continue }
            if best.map({ Self.isMoreSpecific(literals, than: $0.literals) }) ?? true {
                best = (endpoint, literals)
            }
        }
        return best?.endpoint.methods
    }

    /// For each segment whether it matched a literal component; nil when the path does not match.
    private func match(_ route: RouterPath, _ segments: [Substring]) -> [Bool]? {
        var literals: [Bool] = []
        for (index, component) in route.components.enumerated() {
            if component == .recursiveWildcard { return literals + Array(repeating: false, count: max(0, segments.count - index)) }
            guard index < segments.count, component ~= segments[index] else { return nil }
            literals.append(component == .path(segments[index]))
        }
        return literals.count == segments.count ? literals : nil
    }

    private static func isMoreSpecific(_ candidate: [Bool], than current: [Bool]) -> Bool {
        for (new, old) in zip(candidate, current) where new != old { return new }
        return false
    }
}
