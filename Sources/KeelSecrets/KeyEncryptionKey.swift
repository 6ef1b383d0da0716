import Crypto
import Foundation

/// A key-encryption key (KEK): the long-lived secret from `SECRETS_ENCRYPTION_KEY` that wraps the
/// per-value data keys of the envelope scheme.
///
/// The textual form is `<key_id>:<base64 of exactly 32 bytes>`, e.g. `kek-v1:…`. The id travels in
/// every envelope so that a value can be matched to the right key after a rotation; the key
/// material never leaves this type (its descriptions redact it), so it cannot leak into logs.
public struct KeyEncryptionKey: Sendable {
    /// The required length of the key material: AES-256 takes 32 bytes.
    public static let keyByteCount = 32

    /// The id written into envelopes (`key_id`), e.g. `kek-v1`.
    public let id: String

    /// The AES-256 key material.
    let key: SymmetricKey

    /// Parses `<key_id>:<base64 of exactly 32 bytes>`.
    ///
    /// Surrounding whitespace is ignored because values pasted into `.env` files or secret stores
    /// often carry a trailing newline. Errors describe what is expected and never echo the input.
    public init(parsing text: String) throws(KeyEncryptionKeyError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let separator = trimmed.firstIndex(of: ":") else {
            throw .missingKeyID
        }
        let id = String(trimmed[..<separator])
        let encoded = String(trimmed[trimmed.index(after: separator)...])
        try Self.validate(id: id)
        guard !encoded.isEmpty else {
            throw .missingKeyMaterial
        }
        guard let material = Data(base64Encoded: encoded) else {
            throw .invalidBase64
        }
        guard material.count == Self.keyByteCount else {
            throw .wrongKeyLength(byteCount: material.count)
        }
        self.id = id
        self.key = SymmetricKey(data: material)
    }

    /// Wraps existing key material; used for generated keys and by tests.
    init(id: String, key: SymmetricKey) {
        self.id = id
        self.key = key
    }

    /// Makes a random key with id `kek-ephemeral`.
    ///
    /// DEV_MODE uses this when no `SECRETS_ENCRYPTION_KEY` is configured, so provider keys can be
    /// stored for the lifetime of the process; they become undecryptable after a restart, which is
    /// acceptable because DEV_MODE storage is in-memory anyway.
    public static func generateEphemeral() -> KeyEncryptionKey {
        KeyEncryptionKey(id: "kek-ephemeral", key: SymmetricKey(size: .bits256))
    }

    /// Key ids are restricted to a conservative character set so that they can be embedded in the
    /// envelope JSON and in log lines without any escaping.
    static func validate(id: String) throws(KeyEncryptionKeyError) {
        guard !id.isEmpty else {
            throw .missingKeyID
        }
        let allowed = id.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_" || scalar == ".")
        }
        guard allowed else {
            throw .invalidKeyID
        }
    }
}

extension KeyEncryptionKey: CustomStringConvertible, CustomDebugStringConvertible {
    /// Shows only the id: the key material must never reach logs or error reports.
    public var description: String {
        "KeyEncryptionKey(id: \(id), material: <redacted>)"
    }

    public var debugDescription: String {
        description
    }
}
