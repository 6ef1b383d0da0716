import Crypto
import Foundation
import KeelCore

/// The `X-Keel-Webhook-Signature` scheme: `v1=` and the lowercase hex HMAC-SHA256, keyed with the
/// signing secret, of `"<timestamp>.<raw body bytes>"` (the timestamp is the decimal Unix seconds
/// of `X-Keel-Webhook-Timestamp`). Binding the timestamp lets receivers refuse old replays.
public enum WebhookSignature {
    /// The prefix of the current scheme's signatures.
    public static let version = "v1="

    /// The header value for `body` sent at `timestamp`, e.g. `v1=5257a869…`.
    public static func sign(secret: String, timestamp: Int, body: some DataProtocol) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: signedPayload(timestamp: timestamp, body: body), using: key(secret))
        return version + code.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 0x0f)] }.joined()
    }

    /// True when `signature` (the header value; several space- or comma-separated signatures are
    /// accepted, for secret rotation) contains a `v1` signature of `body` and `timestamp` made
    /// with `secret`. With a `tolerance`, also requires the timestamp to be within it of `now`.
    /// The comparison is constant-time.
    public static func verify(
        secret: String, timestamp: Int, body: some DataProtocol, signature: String, tolerance: Duration? = nil,
        now: Date = Date()
    ) -> Bool {
        if let tolerance {
            guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance.inSeconds else { return false }
        }
        let payload = signedPayload(timestamp: timestamp, body: body)
        let key = key(secret)
        return signature.split(whereSeparator: { $0 == " " || $0 == "," }).contains { candidate in
            guard candidate.hasPrefix(version), let code = bytes(hex: candidate.dropFirst(version.count)) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: payload, using: key)
        }
    }

    static func signedPayload(timestamp: Int, body: some DataProtocol) -> [UInt8] {
        Array("\(timestamp).".utf8) + Array(body)
    }

    private static func key(_ secret: String) -> SymmetricKey { SymmetricKey(data: Array(secret.utf8)) }

    private static let hexDigits = "0123456789abcdef".map(String.init)

    /// Decodes an even-length hex string (either case); `nil` for anything else.
    private static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
