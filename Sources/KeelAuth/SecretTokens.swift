import Crypto
import Foundation

/// Random secrets and their stored form: API keys and refresh tokens are looked up by SHA-256, so
/// the table holds nothing a reader could present.
enum SecretTokens {
    /// `count` random bytes as lowercase hex.
    static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func sha256Hex(_ text: String) -> String {
        hex(Array(SHA256.hash(data: Data(text.utf8))))
    }

    /// Base64url without padding (PKCE, `state`).
    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func randomBase64URL(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return base64URL((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// API keys: `evr_` and 48 hex digits (192 random bits), the prefix the Everruns SDKs expect.
/// Stored as SHA-256 with the first 12 characters kept for display.
public enum APIKeyFormat {
    static let prefix = "evr_"
    static let displayLength = 12

    static func make() -> String { prefix + SecretTokens.randomHex(bytes: 24) }

    public static func looksLikeKey(_ text: String) -> Bool {
        text.hasPrefix(prefix) && text.utf8.count <= 128
    }

    static func displayPrefix(_ key: String) -> String { String(key.prefix(displayLength)) }
}
