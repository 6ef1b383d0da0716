import Foundation
import Testing
@testable import KeelSecrets

/// Envelopes are bound to their row (provider and organization) as associated data, and
/// version-1 envelopes written before bindings existed still decrypt until re-sealed.
@Suite("Secret envelopes bound to their row")
struct SecretBindingTests {
    let cipher: SecretsCipher
    let row = SecretBinding.providerKey(providerID: "provider_a", organizationID: "org_1")

    init() throws {
        cipher = try SecretsCipher(primary: try TestKeys.key(id: "kek-v1", byte: 1))
    }

    @Test("an envelope moved to another provider or organization does not decrypt")
    func movedEnvelopeFails() throws {
        let envelope = try cipher.encrypt("sk-bound", boundTo: row)
        #expect(try cipher.decrypt(envelope, boundTo: row) == "sk-bound")
        for other in [
            SecretBinding.providerKey(providerID: "provider_b", organizationID: "org_1"),
            SecretBinding.providerKey(providerID: "provider_a", organizationID: "org_2"),
            // The separator keeps ("org_1", "x") and ("org_", "1x")-style shifts apart.
            SecretBinding.providerKey(providerID: "1\u{0}provider_a", organizationID: "org_"),
        ] {
            #expect(throws: SecretsCipherError.dataKeyAuthenticationFailed) {
                try cipher.decrypt(envelope, boundTo: other)
            }
        }
    }

    @Test("a version-1 envelope (no binding) still decrypts, needs re-encryption, and re-seals bound")
    func unboundEnvelopeIsReadAndResealed() throws {
        let legacy = try cipher.seal(Data("sk-legacy".utf8), dataKey: Data(repeating: 7, count: 32), binding: nil)
        #expect(try envelopeFields(legacy)["version"] as? Int == 1)
        #expect(try cipher.decrypt(legacy, boundTo: row) == "sk-legacy")
        #expect(cipher.needsReencryption(legacy))

        let resealed = try cipher.reencrypt(legacy, boundTo: row)
        #expect(try envelopeFields(resealed)["version"] as? Int == 2)
        #expect(!cipher.needsReencryption(resealed))
        #expect(try cipher.decrypt(resealed, boundTo: row) == "sk-legacy")
        #expect(throws: SecretsCipherError.self) {
            try cipher.decrypt(resealed, boundTo: .providerKey(providerID: "provider_b", organizationID: "org_1"))
        }
    }
}
