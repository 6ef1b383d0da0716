import Hummingbird

/// CORS for an explicit origin list (`CORS_ALLOWED_ORIGINS`): the request's origin is echoed only
/// when listed, always with credentials allowed, never `*`. An empty list turns CORS off.
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    static var allowedMethods: String { "GET, POST, PUT, PATCH, DELETE, OPTIONS" }
    static var allowedHeaders: String {
        "Authorization, Content-Type, Last-Event-ID, X-Org-Id, X-Project-Id, Everruns-Change-Reason"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = allowedOrigins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else {
                return APIError(.forbidden, code: "cors_origin_not_allowed", "Origin '\(origin)' is not allowed")
                    .response(headers: [.vary: "Origin"])
            }
            var headers = corsHeaders(origin: origin)
            headers[.accessControlAllowMethods] = Self.allowedMethods
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? Self.allowedHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        if allowed {
            for field in corsHeaders(origin: origin) { response.headers[field.name] = field.value }
        } else {
            response.headers[.vary] = "Origin"
        }
        return response
    }

    private func corsHeaders(origin: String) -> HTTPFields {
        [
            .accessControlAllowOrigin: origin,
            .accessControlAllowCredentials: "true",
            .accessControlExposeHeaders: "Content-Type, Last-Event-ID",
            .vary: "Origin",
        ]
    }
}
