import Foundation
import KeelCore
import KeelSecrets
import KeelStorage
import Logging

/// `keel secrets reencrypt`: re-seals every stored provider key under `SECRETS_ENCRYPTION_KEY`,
/// bound to its row, reading values written under `SECRETS_ENCRYPTION_KEY_PREVIOUS` (or as
/// unbound version-1 envelopes). Only PostgreSQL (`DATABASE_URL`) stores keys across restarts;
/// the in-memory store has nothing to rotate.
///
/// Idempotent: a value already under the primary key and bound is verified and left alone, and
/// each rewrite is a compare-and-set, so running it twice, or while servers run, changes nothing
/// more. Reports counts only, never keys or envelopes.
public enum SecretsReencryption {
    public struct Report: Sendable, Equatable, CustomStringConvertible {
        /// Providers with a stored key.
        public var total = 0
        /// Re-sealed under the primary key in this run.
        public var resealed = 0
        /// Already under the primary key and bound to their row (and they decrypt).
        public var current = 0
        /// Could not be decrypted with the configured keys (left as they are; see the log).
        public var failed = 0
        /// Changed or deleted through the API while this ran (left to the API's value).
        public var skipped = 0

        public init(total: Int = 0, resealed: Int = 0, current: Int = 0, failed: Int = 0, skipped: Int = 0) {
            self.total = total
            self.resealed = resealed
            self.current = current
            self.failed = failed
            self.skipped = skipped
        }

        public var description: String {
            "provider keys: \(total) stored, \(resealed) re-encrypted, \(current) already current, \(failed) undecryptable, \(skipped) changed meanwhile"
        }
    }

    /// What a run needs: the database and the keys.
    public struct Setup: Sendable {
        public var cipher: SecretsCipher
        public var databaseURL: String
    }

    /// The cipher from `SECRETS_ENCRYPTION_KEY` and `SECRETS_ENCRYPTION_KEY_PREVIOUS`, and the
    /// `DATABASE_URL`; errors name the variable, never its value.
    public static func configuration(environment: [String: String]) throws(ConfigurationError) -> Setup {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
            else { return nil }
            return text
        }
        guard let databaseURL = value("DATABASE_URL") else {
            throw ConfigurationError(
                variable: "DATABASE_URL", message: "required: the PostgreSQL database whose provider keys are re-encrypted")
        }
        guard let primary = try KeelConfiguration.parseKey("SECRETS_ENCRYPTION_KEY", value("SECRETS_ENCRYPTION_KEY"))
        else { throw KeelConfiguration.missingKeyError }
        let previous = try KeelConfiguration.parseKey(
            "SECRETS_ENCRYPTION_KEY_PREVIOUS", value("SECRETS_ENCRYPTION_KEY_PREVIOUS"))
        do {
            return Setup(cipher: try SecretsCipher(primary: primary, previous: previous), databaseURL: databaseURL)
        } catch {
            throw ConfigurationError(variable: "SECRETS_ENCRYPTION_KEY_PREVIOUS", message: error.description)
        }
    }

    /// Connects to the database (migrating the schema if needed) and re-seals its provider keys.
    public static func run(_ setup: Setup, logger: Logger) async throws -> Report {
        try await PostgresStore(url: setup.databaseURL, maxConnections: 2, logger: logger).withRunning { store in
            try await reencrypt(store, cipher: setup.cipher, logger: logger)
        }
    }

    /// Re-seals the provider keys of a running store.
    public static func reencrypt(_ store: PostgresStore, cipher: SecretsCipher, logger: Logger) async throws -> Report {
        var report = Report()
        for provider in try await store.providersWithStoredKeys() {
            guard let envelope = provider.encryptedAPIKey else { continue }
            report.total += 1
            let binding = SecretBinding.providerKey(providerID: provider.id, organizationID: provider.organizationID)
            do {
                if !cipher.needsReencryption(envelope) {
                    _ = try cipher.decrypt(envelope, boundTo: binding)
                    report.current += 1
                    continue
                }
                let resealed = try cipher.reencrypt(envelope, boundTo: binding)
                if try await store.replaceProviderKey(
                    id: provider.id, organizationID: provider.organizationID, expected: envelope, with: resealed) {
                    report.resealed += 1
                } else {
                    report.skipped += 1
                }
            } catch let error as SecretsCipherError {
                report.failed += 1
                logger.error(
                    "provider key cannot be decrypted with the configured keys; left unchanged",
                    metadata: ["provider_id": "\(provider.id)", "error": "\(error.description)"])
            }
        }
        return report
    }
}
