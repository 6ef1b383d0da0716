import Foundation
import Testing
@testable import KeelSecrets

@Suite("KeyEncryptionKey parsing")
struct KeyEncryptionKeyTests {
    @Test("parses <key_id>:<base64 of 32 bytes>")
    func parsesValidKey() throws {
        let key = try KeyEncryptionKey(parsing: "kek-v1:\(TestKeys.material(7))")
        #expect(key.id == "kek-v1")
    }

    @Test("ignores surrounding whitespace such as a trailing newline")
    func trimsWhitespace() throws {
        let key = try KeyEncryptionKey(parsing: "  kek-v2:\(TestKeys.material(7))\n")
        #expect(key.id == "kek-v2")
    }

    @Test("rejects a value without a key id prefix")
    func rejectsMissingPrefix() {
        #expect(throws: KeyEncryptionKeyError.missingKeyID) {
            try KeyEncryptionKey(parsing: TestKeys.material(7))
        }
        #expect(throws: KeyEncryptionKeyError.missingKeyID) {
            try KeyEncryptionKey(parsing: ":\(TestKeys.material(7))")
        }
    }

    @Test("rejects key ids with unsafe characters")
    func rejectsBadKeyID() {
        #expect(throws: KeyEncryptionKeyError.invalidKeyID) {
            try KeyEncryptionKey(parsing: "kek v1:\(TestKeys.material(7))")
        }
        #expect(throws: KeyEncryptionKeyError.invalidKeyID) {
            try KeyEncryptionKey(parsing: "kek\"v1:\(TestKeys.material(7))")
        }
    }

    @Test("rejects missing key material")
    func rejectsEmptyMaterial() {
        #expect(throws: KeyEncryptionKeyError.missingKeyMaterial) {
            try KeyEncryptionKey(parsing: "kek-v1:")
        }
    }

    @Test("rejects non-base64 key material")
    func rejectsNonBase64() {
        #expect(throws: KeyEncryptionKeyError.invalidBase64) {
            try KeyEncryptionKey(parsing: "kek-v1:not base64!!")
        }
    }

    @Test("rejects key material that is not exactly 32 bytes", arguments: [0, 16, 31, 33, 64])
    func rejectsWrongLength(byteCount: Int) {
        let text = "kek-v1:\(TestKeys.material(7, count: byteCount))"
        #expect(throws: (byteCount == 0 ? KeyEncryptionKeyError.missingKeyMaterial : .wrongKeyLength(byteCount: byteCount))) {
            try KeyEncryptionKey(parsing: text)
        }
    }

    @Test("error descriptions state the expected format and never contain the key material")
    func errorsNeverEchoKeyMaterial() {
        let material31 = TestKeys.material(0xAB, count: 31)
        let material32 = TestKeys.material(0xCD)
        let inputs = [
            "kek-v1:\(material31)",
            material32,
            "bad id:\(material32)",
            "kek-v1:\(material32)%",
        ]
        for input in inputs {
            do {
                _ = try KeyEncryptionKey(parsing: input)
                Issue.record("expected a parse error")
            } catch {
                let text = error.description
                #expect(text.contains("expected <key_id>:<base64 of exactly 32 bytes>"))
                #expect(!text.contains(material31))
                #expect(!text.contains(material32))
                #expect(!String(describing: error).contains(material32))
                #expect(!String(reflecting: error).contains(material32))
            }
        }
    }

    @Test("the key's own descriptions redact the material")
    func keyDescriptionRedactsMaterial() throws {
        let material = TestKeys.material(0x5A)
        let key = try KeyEncryptionKey(parsing: "kek-v1:\(material)")
        #expect(!String(describing: key).contains(material))
        #expect(!String(reflecting: key).contains(material))
        #expect(String(describing: key).contains("kek-v1"))
    }

    @Test("generateEphemeral makes distinct random keys named kek-ephemeral")
    func ephemeralKeys() throws {
        let first = SecretsCipher.generateEphemeral()
        let second = SecretsCipher.generateEphemeral()
        #expect(first.primary.id == "kek-ephemeral")
        #expect(KeyEncryptionKey.generateEphemeral().id == "kek-ephemeral")
        let envelope = try first.encrypt("value", boundTo: .test)
        #expect(try first.decrypt(envelope, boundTo: .test) == "value")
        #expect(throws: SecretsCipherError.dataKeyAuthenticationFailed) {
            try second.decrypt(envelope, boundTo: .test)
        }
    }
}
