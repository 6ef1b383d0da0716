import Foundation

/// The stored form of one encrypted value (spec §7), as it appears in the database:
/// `{"version":2,"alg":"AES-256-GCM","key_id":…,"dek_wrapped":…,"nonce":…,"ciphertext":…}`.
///
/// Version 2 seals both the data key and the value with the row's `SecretBinding` as associated
/// data; version 1 (written before bindings existed) has none and is still read, until
/// `keel secrets reencrypt` rewrites it as version 2.
///
/// Binary fields are kept as base64 strings here; `SecretsCipher` decodes them so that it can
/// report malformed base64 separately from authentication failures.
struct SecretEnvelope: Codable, Sendable, Equatable {
    static let currentVersion = 2
    /// Envelopes without associated data, still accepted for reading.
    static let unboundVersion = 1
    static let algorithm = "AES-256-GCM"

    var version: Int
    var alg: String
    var keyID: String
    /// base64(dek_nonce ‖ wrapped_dek ‖ tag)
    var dekWrapped: String
    /// base64(data_nonce)
    var nonce: String
    /// base64(ciphertext ‖ tag)
    var ciphertext: String

    enum CodingKeys: String, CodingKey {
        case version
        case alg
        case keyID = "key_id"
        case dekWrapped = "dek_wrapped"
        case nonce
        case ciphertext
    }

    /// Parses the stored JSON. Returns nil for anything that is not an envelope-shaped object so
    /// that callers can map it to their own error.
    init?(json: String) {
        guard let decoded = try? JSONDecoder().decode(SecretEnvelope.self, from: Data(json.utf8)) else {
            return nil
        }
        self = decoded
    }

    init(version: Int, alg: String, keyID: String, dekWrapped: String, nonce: String, ciphertext: String) {
        self.version = version
        self.alg = alg
        self.keyID = keyID
        self.dekWrapped = dekWrapped
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    /// Serialises with the field order of the spec.
    ///
    /// Written by hand rather than with `JSONEncoder` so the byte layout is stable and matches
    /// what other implementations produce. No escaping is needed: key ids are validated to a safe
    /// ASCII set and the remaining strings are base64 or constants.
    var json: String {
        #"{"version":\#(version),"alg":"\#(alg)","key_id":"\#(keyID)","dek_wrapped":"\#(dekWrapped)","nonce":"\#(nonce)","ciphertext":"\#(ciphertext)"}"#
    }
}
