import Hummingbird
import KeelAuth
import KeelCore

/// Who a request acts for, as `AuthenticationMiddleware` established it. Every controller asks
/// here; a route outside the authenticated group has no principal and fails closed.
enum RequestScope {
    static func principal(_ context: KeelRequestContext) throws -> AuthPrincipal {
        guard let principal = context.principal else { throw AuthError.unauthenticated("Authentication required") }
        return principal
    }

    static func organizationID(_ context: KeelRequestContext) throws -> String {
        try principal(context).organizationID
    }
}
