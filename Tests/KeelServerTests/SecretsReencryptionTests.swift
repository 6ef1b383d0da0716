import Foundation
import KeelCore
@testable import KeelSecrets
import KeelServer
import KeelStorage
import Logging
import Testing

/// `keel secrets reencrypt` on PostgreSQL: values under the previous key, and unbound version-1
/// values, end up under the new key bound to their row; a second run changes nothing.
@Suite("Secrets re-encryption", .serialized)
struct SecretsReencryptionTests {
    static let oldKey = "kek-v1:" + Data(repeating: 1, count: 32).base64EncodedString()
    static let newKey = "kek-v2:" + Data(repeating: 2, count: 32).base64EncodedString()

    @Test("rotation re-seals every stored key under the new key; the new key alone then decrypts them; idempotent")
    func rotation() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let old = try SecretsCipher(primary: try KeyEncryptionKey(parsing: Self.oldKey))
            let fresh = try KeyEncryptionKey(parsing: Self.newKey)
            let setup = try SecretsReencryption.configuration(environment: [
                "DATABASE_URL": url, "SECRETS_ENCRYPTION_KEY": Self.newKey, "SECRETS_ENCRYPTION_KEY_PREVIOUS": Self.oldKey,
            ])
            let logger = Logger(label: "test")

            var providers = (0..<3).map { index in
                LLMProvider(organizationID: "org_\(index)", name: "p\(index)", providerType: .openai)
            }
            func binding(_ provider: LLMProvider) -> SecretBinding {
                .providerKey(providerID: provider.id, organizationID: provider.organizationID)
            }
            // Bound under the previous key, unbound (version 1) under the previous key, and
            // already current; plus one provider without a key.
            providers[0].encryptedAPIKey = try old.encrypt("sk-zero", boundTo: binding(providers[0]))
            providers[1].encryptedAPIKey = try old.seal(
                Data("sk-one".utf8), dataKey: Data(repeating: 5, count: 32), binding: nil)
            providers[2].encryptedAPIKey = try SecretsCipher(primary: fresh).encrypt("sk-two", boundTo: binding(providers[2]))
            let keyless = LLMProvider(name: "keyless", providerType: .anthropic)

            try await PostgresStore(url: url, maxConnections: 2, logger: logger).withRunning { store in
                for provider in providers + [keyless] { try await store.insertProvider(provider) }
            }

            let first = try await SecretsReencryption.run(setup, logger: logger)
            #expect(first == .init(total: 3, resealed: 2, current: 1, failed: 0, skipped: 0), "\(first)")
            #expect(!first.description.contains("sk-"))

            let newOnly = try SecretsCipher(primary: fresh)
            try await PostgresStore(url: url, maxConnections: 2, logger: logger).withRunning { store in
                for (provider, plaintext) in zip(providers, ["sk-zero", "sk-one", "sk-two"]) {
                    let stored = try #require(try await store.provider(id: provider.id, organizationID: provider.organizationID)?.encryptedAPIKey)
                    #expect(try newOnly.decrypt(stored, boundTo: binding(provider)) == plaintext)
                    #expect(!newOnly.needsReencryption(stored))
                }
                #expect(try await store.provider(id: keyless.id, organizationID: keyless.organizationID)?.encryptedAPIKey == nil)
            }

            let second = try await SecretsReencryption.run(setup, logger: logger)
            #expect(second == .init(total: 3, resealed: 0, current: 3, failed: 0, skipped: 0), "\(second)")
        }
    }

    @Test("the command needs DATABASE_URL and a valid SECRETS_ENCRYPTION_KEY, and names what is missing")
    func configurationErrors() {
        #expect(throws: ConfigurationError.self) {
            try SecretsReencryption.configuration(environment: ["SECRETS_ENCRYPTION_KEY": Self.newKey])
        }
        do {
            _ = try SecretsReencryption.configuration(environment: ["DATABASE_URL": "postgres://u@h/db"])
            Issue.record("a missing key must be refused")
        } catch {
            #expect(error.variable == "SECRETS_ENCRYPTION_KEY")
        }
        do {
            _ = try SecretsReencryption.configuration(environment: [
                "DATABASE_URL": "postgres://u@h/db", "SECRETS_ENCRYPTION_KEY": Self.newKey,
                "SECRETS_ENCRYPTION_KEY_PREVIOUS": "kek-v2:" + Data(repeating: 3, count: 32).base64EncodedString(),
            ])
            Issue.record("a previous key with the primary's id must be refused")
        } catch {
            #expect(error.variable == "SECRETS_ENCRYPTION_KEY_PREVIOUS")
        }
    }
}
