import Foundation

/// Public identifiers are `{prefix}_{32 lowercase hex}`: a UUIDv7 without dashes, so ids sort by
/// creation time and can be validated by shape before any lookup.
public enum IDPrefix: String, Sendable, CaseIterable {
    case agent, session, message, event, turn, provider, model, org, harness, exec, task, user, apikey
}

public enum PublicID {
    public static func make(_ prefix: IDPrefix, now: Date = Date()) -> String {
        "\(prefix.rawValue)_\(uuidV7Hex(now: now))"
    }

    public static func isValid(_ id: String, prefix: IDPrefix) -> Bool {
        let expected = prefix.rawValue + "_"
        guard id.hasPrefix(expected) else { return false }
        let hex = id.utf8.dropFirst(expected.utf8.count)
        return hex.count == 32 && hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The smallest id of `prefix` made at `date`: ids are UUIDv7 (time first), so every id made
    /// before `date` sorts below it and every one made at or after it, not (byte order).
    public static func lowerBound(_ prefix: IDPrefix, at date: Date) -> String {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let hex = String(millis, radix: 16)
        return "\(prefix.rawValue)_" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
            + String(repeating: "0", count: 20)
    }

    /// Two 64-bit draws from the system generator (not one per byte) and the hex written into the
    /// string's own storage: ids are made for every event, so this is on every append.
    static func uuidV7Hex(now: Date) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        var generator = SystemRandomNumberGenerator()
        let high = (millis << 16) | 0x7000 | (generator.next() & 0x0FFF)
        let low = (generator.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for index in 0..<16 {
                let nibble = Int(truncatingIfNeeded: high >> (60 - 4 * index)) & 0x0F
                buffer[index] = hexDigits[nibble]
                buffer[16 + index] = hexDigits[Int(truncatingIfNeeded: low >> (60 - 4 * index)) & 0x0F]
            }
            return 32
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// The fixed tenancy anchors used until authentication and multi-tenancy arrive.
public enum BuiltIn {
    public static let organizationID = "org_00000000000000000000000000000001"
    public static let genericHarnessID = "harness_00000000000000000000000000000001"
    public static let genericHarnessName = "generic"
    public static let genericHarnessPrompt = "You are a helpful assistant."
}
