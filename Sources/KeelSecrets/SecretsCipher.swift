import Crypto
import Foundation

/// Envelope encryption of stored secrets (provider API keys and the like), spec §7.
///
/// Each value gets a fresh random 256-bit data key (DEK); the DEK is sealed under the key-encryption
/// key (KEK) and the plaintext under the DEK, both with AES-256-GCM, random 12-byte nonces and the
/// value's `SecretBinding` (the row it belongs to) as associated data. The envelope records the KEK
/// id so that after a rotation values written under the previous key still decrypt until
/// `keel secrets reencrypt` has moved them to the primary.
public struct SecretsCipher: Sendable {
    static let nonceByteCount = 12
    static let tagByteCount = 16

    /// The key new envelopes are written under (`SECRETS_ENCRYPTION_KEY`).
    public let primary: KeyEncryptionKey
    /// The key being rotated out (`SECRETS_ENCRYPTION_KEY_PREVIOUS`), accepted for decryption only.
    public let previous: KeyEncryptionKey?

    /// Rejects a previous key with the primary's id: envelopes only name a key id, so two keys with
    /// one id would make decryption ambiguous.
    public init(primary: KeyEncryptionKey, previous: KeyEncryptionKey? = nil) throws(SecretsCipherError) {
        if let previous, previous.id == primary.id {
            throw .duplicateKeyID(primary.id)
        }
        self.primary = primary
        self.previous = previous
    }

    /// Encrypts a value under the primary key, bound to its row, and returns the envelope JSON.
    public func encrypt(_ plaintext: String, boundTo binding: SecretBinding) throws(SecretsCipherError) -> String {
        let dataKey = SymmetricKey(size: .bits256)
        return try seal(Data(plaintext.utf8), dataKey: dataKey.withUnsafeBytes { Data($0) }, binding: binding)
    }

    /// Decrypts envelope JSON written under the primary or the previous key. A version-2 envelope
    /// opens only with the binding it was sealed with; a version-1 envelope has none.
    public func decrypt(_ envelope: String, boundTo binding: SecretBinding) throws(SecretsCipherError) -> String {
        guard let parsed = SecretEnvelope(json: envelope) else {
            throw .malformedEnvelope
        }
        let associatedData: Data
        switch parsed.version {
        case SecretEnvelope.currentVersion: associatedData = binding.associatedData
        case SecretEnvelope.unboundVersion: associatedData = Data()
        default: throw .unsupportedVersion(parsed.version)
        }
        guard parsed.alg == SecretEnvelope.algorithm else {
            throw .unsupportedAlgorithm(parsed.alg)
        }
        guard let kek = key(withID: parsed.keyID) else {
            throw .unknownKeyID(parsed.keyID)
        }
        guard let wrapped = Data(base64Encoded: parsed.dekWrapped),
              let dataNonce = Data(base64Encoded: parsed.nonce),
              let sealedData = Data(base64Encoded: parsed.ciphertext),
              wrapped.count >= Self.nonceByteCount + Self.tagByteCount,
              dataNonce.count == Self.nonceByteCount,
              sealedData.count >= Self.tagByteCount
        else {
            throw .malformedEnvelope
        }

        let dataKeyBytes: Data
        do {
            dataKeyBytes = try open(
                nonce: wrapped.prefix(Self.nonceByteCount),
                ciphertextAndTag: wrapped.dropFirst(Self.nonceByteCount),
                using: kek.key, authenticating: associatedData
            )
        } catch {
            throw .dataKeyAuthenticationFailed
        }
        guard dataKeyBytes.count == KeyEncryptionKey.keyByteCount else {
            throw .invalidDataKeyLength(dataKeyBytes.count)
        }

        let plaintext: Data
        do {
            plaintext = try open(
                nonce: dataNonce, ciphertextAndTag: sealedData, using: SymmetricKey(data: dataKeyBytes),
                authenticating: associatedData)
        } catch {
            throw .ciphertextAuthenticationFailed
        }
        guard let text = String(data: plaintext, encoding: .utf8) else {
            throw .invalidPlaintextEncoding
        }
        return text
    }

    /// True when the envelope is not under the primary key, or has no binding (version 1), and
    /// should be rewritten by the re-encryption job.
    ///
    /// Unreadable envelopes also return true: a dry run then counts them, and `reencrypt(_:)`
    /// reports precisely what is wrong instead of the value being skipped silently.
    public func needsReencryption(_ envelope: String) -> Bool {
        guard let parsed = SecretEnvelope(json: envelope) else {
            return true
        }
        return parsed.keyID != primary.id || parsed.version != SecretEnvelope.currentVersion
    }

    /// Decrypts a value (under either configured key) and encrypts it afresh under the primary key,
    /// bound to its row.
    public func reencrypt(_ envelope: String, boundTo binding: SecretBinding) throws(SecretsCipherError) -> String {
        try encrypt(decrypt(envelope, boundTo: binding), boundTo: binding)
    }

    /// Makes a cipher with a random `kek-ephemeral` key, for DEV_MODE without a configured key.
    public static func generateEphemeral() -> SecretsCipher {
        // A cipher without a previous key cannot have a duplicate id, so this cannot fail.
        SecretsCipher(unchecked: KeyEncryptionKey.generateEphemeral())
    }

    private init(unchecked primary: KeyEncryptionKey) {
        self.primary = primary
        self.previous = nil
    }

    /// Builds an envelope from explicit data-key bytes. Internal so tests can produce envelopes
    /// with malformed data keys and unbound version-1 envelopes (`binding: nil`); production always
    /// passes a fresh random 32-byte key and a binding.
    func seal(_ plaintext: Data, dataKey: Data, binding: SecretBinding?) throws(SecretsCipherError) -> String {
        let associatedData = binding?.associatedData ?? Data()
        do {
            let wrappedKey = try AES.GCM.seal(
                dataKey, using: primary.key, nonce: AES.GCM.Nonce(), authenticating: associatedData)
            let sealedData = try AES.GCM.seal(
                plaintext, using: SymmetricKey(data: dataKey), nonce: AES.GCM.Nonce(), authenticating: associatedData)
            let envelope = SecretEnvelope(
                version: binding == nil ? SecretEnvelope.unboundVersion : SecretEnvelope.currentVersion,
                alg: SecretEnvelope.algorithm,
                keyID: primary.id,
                dekWrapped: (Data(wrappedKey.nonce) + wrappedKey.ciphertext + wrappedKey.tag).base64EncodedString(),
                nonce: Data(sealedData.nonce).base64EncodedString(),
                ciphertext: (sealedData.ciphertext + sealedData.tag).base64EncodedString()
            )
            return envelope.json
        } catch {
            throw .encryptionFailed
        }
    }

    private func key(withID id: String) -> KeyEncryptionKey? {
        if id == primary.id {
            return primary
        }
        if let previous, id == previous.id {
            return previous
        }
        return nil
    }

    private func open(nonce: Data, ciphertextAndTag: Data, using key: SymmetricKey, authenticating: Data) throws
        -> Data
    {
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: nonce),
            ciphertext: ciphertextAndTag.dropLast(Self.tagByteCount),
            tag: ciphertextAndTag.suffix(Self.tagByteCount)
        )
        return try AES.GCM.open(box, using: key, authenticating: authenticating)
    }
}
