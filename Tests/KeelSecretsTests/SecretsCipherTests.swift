import Foundation
import Testing
@testable import KeelSecrets

@Suite("SecretsCipher envelope encryption")
struct SecretsCipherTests {
    let oldKey: KeyEncryptionKey
    let newKey: KeyEncryptionKey
    let cipher: SecretsCipher

    init() throws {
        oldKey = try TestKeys.key(id: "kek-v1", byte: 1)
        newKey = try TestKeys.key(id: "kek-v2", byte: 2)
        cipher = try SecretsCipher(primary: oldKey)
    }

    @Test("round trip", arguments: ["sk-test-123", "", "ünïcødé 🔑", String(repeating: "x", count: 10_000)])
    func roundTrip(plaintext: String) throws {
        let envelope = try cipher.encrypt(plaintext, boundTo: .test)
        #expect(try cipher.decrypt(envelope, boundTo: .test) == plaintext)
    }

    @Test("envelope JSON has exactly the spec fields, version 2, and correct sizes")
    func envelopeShape() throws {
        let envelope = try cipher.encrypt("sk-test", boundTo: .test)
        #expect(envelope.hasPrefix(#"{"version":2,"alg":"AES-256-GCM","key_id":"kek-v1","dek_wrapped":""#))
        let fields = try envelopeFields(envelope)
        #expect(Set(fields.keys) == ["version", "alg", "key_id", "dek_wrapped", "nonce", "ciphertext"])
        #expect(fields["version"] as? Int == 2)
        #expect(fields["alg"] as? String == "AES-256-GCM")
        #expect(fields["key_id"] as? String == "kek-v1")

        let dekWrapped = try dataField(fields, "dek_wrapped")
        let nonce = try dataField(fields, "nonce")
        let ciphertext = try dataField(fields, "ciphertext")
        #expect(dekWrapped.count == 12 + 32 + 16)
        #expect(nonce.count == 12)
        #expect(ciphertext.count == "sk-test".utf8.count + 16)
    }

    @Test("two encryptions of the same value differ")
    func encryptionIsRandomised() throws {
        let first = try envelopeFields(try cipher.encrypt("same", boundTo: .test))
        let second = try envelopeFields(try cipher.encrypt("same", boundTo: .test))
        #expect(first["dek_wrapped"] as? String != second["dek_wrapped"] as? String)
        #expect(first["nonce"] as? String != second["nonce"] as? String)
        #expect(first["ciphertext"] as? String != second["ciphertext"] as? String)
    }

    @Test("a different key with the same id fails authentication")
    func wrongKeyFails() throws {
        let envelope = try cipher.encrypt("secret", boundTo: .test)
        let impostor = try SecretsCipher(primary: try TestKeys.key(id: "kek-v1", byte: 9))
        #expect(throws: SecretsCipherError.dataKeyAuthenticationFailed) {
            try impostor.decrypt(envelope, boundTo: .test)
        }
    }

    @Test("tampered ciphertext fails authentication", arguments: [0, -1])
    func tamperedCiphertextFails(offset: Int) throws {
        var fields = try envelopeFields(try cipher.encrypt("secret", boundTo: .test))
        fields["ciphertext"] = try flipBit(inBase64: try stringField(fields, "ciphertext"), at: offset)
        let tampered = try encodeEnvelope(fields)
        #expect(throws: SecretsCipherError.ciphertextAuthenticationFailed) {
            try cipher.decrypt(tampered, boundTo: .test)
        }
    }

    @Test("tampered data nonce fails authentication")
    func tamperedNonceFails() throws {
        var fields = try envelopeFields(try cipher.encrypt("secret", boundTo: .test))
        fields["nonce"] = try flipBit(inBase64: try stringField(fields, "nonce"), at: 0)
        let tampered = try encodeEnvelope(fields)
        #expect(throws: SecretsCipherError.ciphertextAuthenticationFailed) {
            try cipher.decrypt(tampered, boundTo: .test)
        }
    }

    @Test("tampered dek_wrapped fails authentication", arguments: [0, 12, 20, -1])
    func tamperedWrappedKeyFails(offset: Int) throws {
        var fields = try envelopeFields(try cipher.encrypt("secret", boundTo: .test))
        fields["dek_wrapped"] = try flipBit(inBase64: try stringField(fields, "dek_wrapped"), at: offset)
        let tampered = try encodeEnvelope(fields)
        #expect(throws: SecretsCipherError.dataKeyAuthenticationFailed) {
            try cipher.decrypt(tampered, boundTo: .test)
        }
    }

    @Test("unknown versions are rejected", arguments: [0, 3])
    func unknownVersionFails(version: Int) throws {
        var fields = try envelopeFields(try cipher.encrypt("secret", boundTo: .test))
        fields["version"] = version
        let modified = try encodeEnvelope(fields)
        #expect(throws: SecretsCipherError.unsupportedVersion(version)) {
            try cipher.decrypt(modified, boundTo: .test)
        }
    }

    @Test("unknown algorithms are rejected")
    func unknownAlgorithmFails() throws {
        var fields = try envelopeFields(try cipher.encrypt("secret", boundTo: .test))
        fields["alg"] = "ChaCha20-Poly1305"
        let modified = try encodeEnvelope(fields)
        #expect(throws: SecretsCipherError.unsupportedAlgorithm("ChaCha20-Poly1305")) {
            try cipher.decrypt(modified, boundTo: .test)
        }
    }

    @Test("unknown key ids are rejected")
    func unknownKeyIDFails() throws {
        let envelope = try SecretsCipher(primary: newKey).encrypt("secret", boundTo: .test)
        #expect(throws: SecretsCipherError.unknownKeyID("kek-v2")) {
            try cipher.decrypt(envelope, boundTo: .test)
        }
    }

    @Test("a data key that is not 32 bytes is rejected")
    func shortDataKeyFails() throws {
        let envelope = try cipher.seal(Data("secret".utf8), dataKey: Data(repeating: 3, count: 16), binding: .test)
        #expect(throws: SecretsCipherError.invalidDataKeyLength(16)) {
            try cipher.decrypt(envelope, boundTo: .test)
        }
    }

    @Test("malformed envelopes are rejected", arguments: [
        "",
        "not json",
        "{}",
        #"{"version":1,"alg":"AES-256-GCM","key_id":"kek-v1"}"#,
        #"{"version":1,"alg":"AES-256-GCM","key_id":"kek-v1","dek_wrapped":"!!","nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="}"#,
        #"{"version":1,"alg":"AES-256-GCM","key_id":"kek-v1","dek_wrapped":"AAAA","nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="}"#,
    ])
    func malformedEnvelopeFails(envelope: String) {
        #expect(throws: SecretsCipherError.malformedEnvelope) {
            try cipher.decrypt(envelope, boundTo: .test)
        }
    }

    @Test("duplicate key ids are rejected")
    func duplicateKeyIDsRejected() throws {
        let sameID = try TestKeys.key(id: "kek-v1", byte: 8)
        #expect(throws: SecretsCipherError.duplicateKeyID("kek-v1")) {
            try SecretsCipher(primary: oldKey, previous: sameID)
        }
    }

    @Test("rotation: old values decrypt while the old key is configured as previous")
    func rotationWithPreviousKey() throws {
        let envelope = try SecretsCipher(primary: oldKey).encrypt("sk-rotate", boundTo: .test)
        let rotated = try SecretsCipher(primary: newKey, previous: oldKey)
        #expect(try rotated.decrypt(envelope, boundTo: .test) == "sk-rotate")
        #expect(rotated.needsReencryption(envelope))
    }

    @Test("rotation: old values fail once the previous key is dropped")
    func rotationWithoutPreviousKey() throws {
        let envelope = try SecretsCipher(primary: oldKey).encrypt("sk-rotate", boundTo: .test)
        let newOnly = try SecretsCipher(primary: newKey)
        #expect(throws: SecretsCipherError.unknownKeyID("kek-v1")) {
            try newOnly.decrypt(envelope, boundTo: .test)
        }
    }

    @Test("rotation: reencrypt moves a value to the primary key")
    func reencryptMovesToPrimary() throws {
        let envelope = try SecretsCipher(primary: oldKey).encrypt("sk-rotate", boundTo: .test)
        let rotated = try SecretsCipher(primary: newKey, previous: oldKey)
        let moved = try rotated.reencrypt(envelope, boundTo: .test)
        #expect(try envelopeFields(moved)["key_id"] as? String == "kek-v2")
        #expect(!rotated.needsReencryption(moved))
        #expect(try SecretsCipher(primary: newKey).decrypt(moved, boundTo: .test) == "sk-rotate")
    }

    @Test("needsReencryption is false for primary-key values and true for unreadable ones")
    func needsReencryption() throws {
        #expect(!cipher.needsReencryption(try cipher.encrypt("x", boundTo: .test)))
        #expect(cipher.needsReencryption("garbage"))
    }

    @Test("error descriptions never contain plaintext or key material")
    func errorsDoNotLeak() throws {
        let material = TestKeys.material(0x42)
        let key = try KeyEncryptionKey(parsing: "kek-v9:\(material)")
        let envelope = try SecretsCipher(primary: key).encrypt("sk-very-secret", boundTo: .test)
        let errors: [SecretsCipherError] = [
            .duplicateKeyID("kek-v9"), .malformedEnvelope, .unsupportedVersion(2), .unsupportedAlgorithm("x"),
            .unknownKeyID("kek-v9"), .dataKeyAuthenticationFailed, .invalidDataKeyLength(16),
            .ciphertextAuthenticationFailed, .invalidPlaintextEncoding, .encryptionFailed,
        ]
        for error in errors {
            #expect(!error.description.contains(material))
            #expect(!error.description.contains("sk-very-secret"))
        }
        #expect(!envelope.contains("sk-very-secret"))
    }
}
