import HTTPTypes
import Hummingbird
import KeelAuth

/// Establishes the principal of every request in its group: the `Authorization` header (`Bearer
/// <jwt>`, `ApiKey <key>` or a raw key), else an `X-Api-Key` header (what the LangGraph SDK sends
/// for its `api_key`), else the `access_token` cookie, and `X-Org-Id` to pick
/// among the user's organizations (for a cookie credential without that header, the web UI's
/// `keel_org` cookie, when it names one of them: `EventSource` cannot send headers). A request without a valid credential ends here with 401.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        // AUTH_MODE=none ignores whatever credential a client sends, even one it cannot read.
        let credential = auth.settings.mode == .none ? nil : try Self.credential(of: request)
        var preferred: String?
        if case .cookie = credential { preferred = AuthCookies.value(of: AuthCookies.organization, in: request) }
        context.principal = try await auth.authenticate(
            credential, organizationHeader: request.headers[.xOrgID], preferredOrganization: preferred)
        return try await next(request, context)
    }

    static func credential(of request: Request) throws -> PresentedCredential? {
        if let header = request.headers[.authorization] {
            guard let credential = PresentedCredential.fromAuthorization(header) else {
                throw AuthError.unauthenticated("Unsupported Authorization header; use Bearer <token> or an API key")
            }
            return credential
        }
        if let key = request.headers[.xAPIKey], !key.isEmpty { return .apiKey(key) }
        return AuthCookies.value(of: AuthCookies.accessToken, in: request).map(PresentedCredential.cookie)
    }
}

extension HTTPField.Name {
    static let xOrgID = Self("X-Org-Id")!
    static let xAPIKey = Self("X-Api-Key")!
}
