import Foundation
import Testing
@testable import KeelSecrets

/// Deterministic key strings for tests, so failures are reproducible.
enum TestKeys {
    static func material(_ byte: UInt8, count: Int = 32) -> String {
        Data(repeating: byte, count: count).base64EncodedString()
    }

    static func key(id: String, byte: UInt8) throws -> KeyEncryptionKey {
        try KeyEncryptionKey(parsing: "\(id):\(material(byte))")
    }
}

extension SecretBinding {
    static let test = SecretBinding.providerKey(providerID: "provider_test", organizationID: "org_test")
}

/// Decodes an envelope into a mutable dictionary so tests can tamper with individual fields.
func envelopeFields(_ envelope: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(envelope.utf8))
    return try #require(object as? [String: Any])
}

func encodeEnvelope(_ fields: [String: Any]) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: fields)
    return try #require(String(data: data, encoding: .utf8))
}

/// Flips one bit of a base64 field at the given byte offset (negative counts from the end).
func flipBit(inBase64 base64: String, at offset: Int) throws -> String {
    var bytes = try #require(Data(base64Encoded: base64))
    let index = offset >= 0 ? offset : bytes.count + offset
    bytes[bytes.startIndex + index] ^= 0x01
    return bytes.base64EncodedString()
}

/// Reads one string field of a decoded envelope.
func stringField(_ fields: [String: Any], _ name: String) throws -> String {
    try #require(fields[name] as? String)
}

/// Reads and base64-decodes one field of a decoded envelope.
func dataField(_ fields: [String: Any], _ name: String) throws -> Data {
    let text = try stringField(fields, name)
    return try #require(Data(base64Encoded: text))
}
