/// Why a `SECRETS_ENCRYPTION_KEY`-style value could not be parsed.
///
/// Every case describes the expected format and never includes any part of the input, because the
/// input is (or contains) key material.
public enum KeyEncryptionKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No `<key_id>:` prefix, or the prefix is empty.
    case missingKeyID
    /// The key id contains characters other than ASCII letters, digits, `-`, `_` and `.`.
    case invalidKeyID
    /// Nothing follows the `:`.
    case missingKeyMaterial
    /// The part after `:` is not standard (padded) base64.
    case invalidBase64
    /// The base64 decodes to the wrong number of bytes.
    case wrongKeyLength(byteCount: Int)

    static let expectedFormat = "expected <key_id>:<base64 of exactly 32 bytes>, e.g. kek-v1:<44 base64 characters>"

    public var description: String {
        switch self {
        case .missingKeyID:
            "missing key id: \(Self.expectedFormat)"
        case .invalidKeyID:
            "invalid key id (allowed: ASCII letters, digits, '-', '_', '.'): \(Self.expectedFormat)"
        case .missingKeyMaterial:
            "missing key material after ':': \(Self.expectedFormat)"
        case .invalidBase64:
            "key material is not valid base64: \(Self.expectedFormat)"
        case .wrongKeyLength(let byteCount):
            "key material decodes to \(byteCount) bytes: \(Self.expectedFormat)"
        }
    }
}
