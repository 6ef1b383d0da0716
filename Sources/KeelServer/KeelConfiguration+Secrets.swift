import KeelCore
import KeelSecrets

/// Secrets handling: parsing the key-encryption keys and building the cipher the engine uses.
extension KeelConfiguration {
    /// How to generate a key, quoted from the Everruns documentation so operators can copy it.
    static let keyGenerationCommand =
        #"python3 -c "import os, base64; print('kek-v1:' + base64.b64encode(os.urandom(32)).decode())""#

    /// Parses a key variable; the error says only what is expected, never the value.
    static func parseKey(_ name: String, _ text: String?) throws(ConfigurationError) -> KeyEncryptionKey? {
        guard let text else {
            return nil
        }
        do {
            return try KeyEncryptionKey(parsing: text)
        } catch {
            // KeyEncryptionKeyError descriptions never include the input, so they are safe to use.
            throw ConfigurationError(variable: name, message: error.description)
        }
    }

    /// Rejects a previous key without a primary (nothing could be re-encrypted to) and a previous
    /// key with the primary's id (envelopes could not be attributed to one key).
    func validateKeyPair() throws(ConfigurationError) {
        guard let previous = secretsEncryptionKeyPrevious else {
            return
        }
        guard let primary = secretsEncryptionKey else {
            throw ConfigurationError(
                variable: "SECRETS_ENCRYPTION_KEY_PREVIOUS",
                message: "requires SECRETS_ENCRYPTION_KEY to be set to the new key (the previous key is only used to decrypt during rotation)"
            )
        }
        if previous.id == primary.id {
            throw ConfigurationError(
                variable: "SECRETS_ENCRYPTION_KEY_PREVIOUS",
                message: "expected a key id different from SECRETS_ENCRYPTION_KEY (both are \"\(primary.id)\"); give the new key a new id such as kek-v2"
            )
        }
    }

    /// The error for a missing key outside DEV_MODE.
    static var missingKeyError: ConfigurationError {
        ConfigurationError(
            variable: "SECRETS_ENCRYPTION_KEY",
            message: "required unless DEV_MODE=true (expected <key_id>:<base64 of 32 bytes>; generate one with: \(keyGenerationCommand))"
        )
    }

    /// Builds the cipher for stored provider keys: the configured keys, or in DEV_MODE without a
    /// key a random `kek-ephemeral` key (values then do not survive a restart, which matches
    /// DEV_MODE's in-memory storage).
    public func makeSecretsCipher() throws(ConfigurationError) -> SecretsCipher {
        guard let primary = secretsEncryptionKey else {
            guard devMode else {
                throw Self.missingKeyError
            }
            return SecretsCipher.generateEphemeral()
        }
        do {
            return try SecretsCipher(primary: primary, previous: secretsEncryptionKeyPrevious)
        } catch {
            throw ConfigurationError(variable: "SECRETS_ENCRYPTION_KEY_PREVIOUS", message: error.description)
        }
    }
}
