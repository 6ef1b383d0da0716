import Foundation
import KeelCore

extension AuthService {
    /// The principal a request acts for. In AUTH_MODE=none that is always the anonymous owner of
    /// the default organization; otherwise the credential must be valid and name a user who is a
    /// member of the organization it acts in (`X-Org-Id`, or the user's first organization).
    /// `organizationHeader` (`X-Org-Id`) must name one of the user's organizations;
    /// `preferredOrganization` (the web UI's `keel_org` cookie) is used when it does, and otherwise
    /// falls back to the first, so a stale choice never locks a browser out.
    public func authenticate(
        _ credential: PresentedCredential?, organizationHeader: String?, preferredOrganization: String? = nil
    ) async throws -> AuthPrincipal {
        if settings.mode == .none {
            return AuthPrincipal(
                userID: Self.anonymousUserID, organizationID: BuiltIn.organizationID, role: .owner,
                credential: .anonymous)
        }
        guard let credential else { throw AuthError.unauthenticated("Authentication required") }
        switch credential {
        case .bearer(let token), .cookie(let token):
            guard let userID = await tokens.userID(of: token) else { throw AuthError.invalidCredential }
            return try await principal(
                userID: userID, organizationHeader: organizationHeader, preferred: preferredOrganization, via: .accessToken)
        case .apiKey(let key):
            return try await principal(apiKey: key, organizationHeader: organizationHeader)
        }
    }

    private func principal(
        userID: String, organizationHeader: String?, preferred: String?, via credential: AuthPrincipal.Credential
    ) async throws -> AuthPrincipal {
        let memberships = try await store.memberships(userID: userID)
        guard let first = memberships.first else {
            // A deleted user, or one removed from every organization: the token is no longer good.
            throw AuthError.invalidCredential
        }
        guard let requested = organizationHeader?.trimmingCharacters(in: .whitespaces), !requested.isEmpty else {
            let chosen = memberships.first { $0.organizationID == preferred } ?? first
            return AuthPrincipal(userID: userID, organizationID: chosen.organizationID, role: chosen.role, credential: credential)
        }
        guard let membership = memberships.first(where: { $0.organizationID == requested }) else {
            throw AuthError.forbidden("Not a member of the organization in X-Org-Id")
        }
        return AuthPrincipal(
            userID: userID, organizationID: membership.organizationID, role: membership.role, credential: credential)
    }

    private func principal(apiKey key: String, organizationHeader: String?) async throws -> AuthPrincipal {
        guard APIKeyFormat.looksLikeKey(key), let record = try await store.apiKey(hash: SecretTokens.sha256Hex(key))
        else { throw AuthError.invalidCredential }
        if let expiresAt = record.expiresAt, expiresAt <= Date() { throw AuthError.invalidCredential }
        if let requested = organizationHeader?.trimmingCharacters(in: .whitespaces), !requested.isEmpty,
            requested != record.organizationID
        {
            throw AuthError.forbidden("This API key belongs to another organization than X-Org-Id")
        }
        // The key acts with the user's current role, so a demoted or removed member's keys follow.
        let memberships = try await store.memberships(userID: record.userID)
        guard let membership = memberships.first(where: { $0.organizationID == record.organizationID }) else {
            throw AuthError.invalidCredential
        }
        // `last_used_at` to the minute: a write per request would double the cost of every call.
        let now = Date()
        if record.lastUsedAt.map({ now.timeIntervalSince($0) >= 60 }) ?? true {
            try await store.recordAPIKeyUse(id: record.id, at: now)
        }
        return AuthPrincipal(
            userID: record.userID, organizationID: record.organizationID, role: membership.role, credential: .apiKey)
    }

    /// The signed-in user and their organizations.
    public func me(_ principal: AuthPrincipal) async throws -> (user: UserAccount, memberships: [Membership]) {
        guard let user = try await store.user(id: principal.userID) else { throw AuthError.invalidCredential }
        return (user, try await store.memberships(userID: user.id))
    }
}
