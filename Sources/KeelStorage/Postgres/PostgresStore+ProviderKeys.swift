import Foundation
import KeelCore
import PostgresNIO

/// What `keel secrets reencrypt` needs: every stored provider key across organizations, and a
/// compare-and-set rewrite of one so a key changed through the API meanwhile is never overwritten.
extension PostgresStore {
    /// Every provider that has a stored (encrypted) key, in every organization, oldest first.
    public func providersWithStoredKeys() async throws -> [LLMProvider] {
        try await waitForSchema()
        let rows = try await client.query(
            """
            SELECT doc::text FROM providers WHERE doc ? 'encrypted_api_key' AND doc->'encrypted_api_key' <> 'null'::jsonb
            ORDER BY created_at, id
            """, logger: logger
        ).collect()
        return try rows.map { try Self.decode(LLMProvider.self, $0.decode(String.self)) }
    }

    /// Replaces a provider's stored key with `replacement` if it is still `expected`; false when the
    /// provider is gone (from `organizationID`) or its key changed since it was read.
    public func replaceProviderKey(id: String, organizationID: String, expected: String, with replacement: String)
        async throws -> Bool
    {
        struct KeyChanged: Error {}
        do {
            _ = try await updateProvider(id: id, organizationID: organizationID) { provider in
                guard provider.encryptedAPIKey == expected else { throw KeyChanged() }
                provider.encryptedAPIKey = replacement
            }
            return true
        } catch is KeyChanged {
            return false
        } catch StoreError.notFound(_, _) {
            return false
        }
    }
}
