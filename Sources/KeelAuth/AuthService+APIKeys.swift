import Foundation
import KeelCore

extension AuthService {
    /// Creates an API key for the principal's user in the principal's organization. The key is in
    /// the result once; afterwards only its prefix is shown.
    public func createAPIKey(
        for principal: AuthPrincipal, name: String, scopes: [String]?, expiresInDays: Int?, clientAddress: String? = nil
    ) async throws -> (record: APIKeyRecord, key: String) {
        try requireAccounts()
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw AuthError.invalid(code: "invalid_request", message: "name must be 1 to 200 bytes")
        }
        let scopes = scopes ?? ["*"]
        guard scopes.count <= 32, scopes.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 }) else {
            throw AuthError.invalid(code: "invalid_request", message: "scopes must be at most 32 names of 1 to 64 bytes")
        }
        if let expiresInDays, !(1...3650).contains(expiresInDays) {
            throw AuthError.invalid(code: "invalid_request", message: "expires_in_days must be from 1 to 3650")
        }
        try await admit(address: clientAddress)
        try await admitKeyCreation(userID: principal.userID)
        let key = APIKeyFormat.make()
        let now = Date()
        let record = APIKeyRecord(
            userID: principal.userID, organizationID: principal.organizationID, name: name,
            keyHash: SecretTokens.sha256Hex(key), keyPrefix: APIKeyFormat.displayPrefix(key), scopes: scopes,
            expiresAt: expiresInDays.map { now.addingTimeInterval(Double($0) * 86_400) }, createdAt: now)
        try await store.insertAPIKey(record)
        logger.info("api key created", metadata: ["key_id": .string(record.id), "user_id": .string(principal.userID)])
        return (record, key)
    }

    public func apiKeys(for principal: AuthPrincipal) async throws -> [APIKeyRecord] {
        try requireAccounts()
        return try await store.apiKeys(userID: principal.userID, organizationID: principal.organizationID)
    }

    /// Revokes one of the user's keys; it stops working on the next request. A key of someone
    /// else is reported as not found.
    public func deleteAPIKey(id: String, for principal: AuthPrincipal) async throws {
        try requireAccounts()
        guard try await store.deleteAPIKey(id: id, userID: principal.userID) else {
            throw StoreError.notFound(kind: "api_key", id: id)
        }
        logger.info("api key revoked", metadata: ["key_id": .string(id), "user_id": .string(principal.userID)])
    }

    func requireAccounts() throws {
        guard settings.mode != .none else {
            throw AuthError.unavailable("Accounts and API keys need AUTH_MODE=admin or full")
        }
    }
}
