/// Why a value could not be encrypted or decrypted, or a cipher could not be configured.
///
/// The cases are distinct so that callers (the re-encryption job, the provider-key resolver) can
/// tell a rotation mistake (`unknownKeyID`) from corruption or tampering. No case carries
/// plaintext or key material.
public enum SecretsCipherError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Primary and previous key have the same id, so envelopes could not be attributed to one key.
    case duplicateKeyID(String)
    /// The stored value is not envelope JSON, or one of its binary fields is not valid base64 or
    /// is too short to hold a nonce and tag.
    case malformedEnvelope
    /// The envelope `version` is neither 1 (unbound) nor 2 (bound to its row).
    case unsupportedVersion(Int)
    /// The envelope `alg` is not `AES-256-GCM`.
    case unsupportedAlgorithm(String)
    /// The envelope names a key id that is neither the primary nor the previous key.
    case unknownKeyID(String)
    /// The wrapped DEK failed GCM authentication: wrong key material for this id, a modified
    /// `dek_wrapped` field, or a version-2 envelope read from another row than it was sealed for.
    case dataKeyAuthenticationFailed
    /// The unwrapped DEK is not 32 bytes.
    case invalidDataKeyLength(Int)
    /// The ciphertext failed GCM authentication: a modified `nonce` or `ciphertext` field, or (for
    /// a version-2 envelope) one read from a different row than it was sealed for.
    case ciphertextAuthenticationFailed
    /// Decryption succeeded but the plaintext is not UTF-8.
    case invalidPlaintextEncoding
    /// The platform crypto library refused to encrypt (not expected in practice).
    case encryptionFailed

    public var description: String {
        switch self {
        case .duplicateKeyID(let id):
            "SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_KEY_PREVIOUS both use key id \"\(id)\"; a rotated key needs a new id"
        case .malformedEnvelope:
            "encrypted value is not a valid envelope (expected JSON with version, alg, key_id, dek_wrapped, nonce, ciphertext)"
        case .unsupportedVersion(let version):
            "unsupported envelope version \(version) (expected 1 or 2)"
        case .unsupportedAlgorithm(let alg):
            "unsupported envelope algorithm \"\(alg.prefix(64))\" (expected AES-256-GCM)"
        case .unknownKeyID(let id):
            "envelope key id \"\(id.prefix(64))\" matches neither SECRETS_ENCRYPTION_KEY nor SECRETS_ENCRYPTION_KEY_PREVIOUS"
        case .dataKeyAuthenticationFailed:
            "wrapped data key failed authentication (wrong key material for this key id, the value was modified, or it belongs to another row)"
        case .invalidDataKeyLength(let count):
            "unwrapped data key is \(count) bytes (expected 32)"
        case .ciphertextAuthenticationFailed:
            "ciphertext failed authentication (the value was modified)"
        case .invalidPlaintextEncoding:
            "decrypted value is not valid UTF-8"
        case .encryptionFailed:
            "encryption failed"
        }
    }
}
