/// Which addresses `web_fetch` refuses to contact unless private addresses are allowed.
///
/// The list covers everything that is not the public internet: loopback, RFC 1918 private
/// ranges, link-local (including the 169.254.169.254 cloud metadata endpoint), carrier-grade
/// NAT, unique-local IPv6, multicast and reserved ranges, plus IPv6 forms that embed an IPv4
/// address (mapped, compatible, NAT64, 6to4), which are judged by the embedded address.
public enum AddressClassification {
    /// Why `address` is blocked, e.g. "loopback"; `nil` for a public address.
    public static func blockReason(_ address: IPAddress) -> String? {
        switch address {
        case .v4(let bytes): return v4Reason(bytes)
        case .v6(let bytes): return v6Reason(bytes)
        }
    }

    static func v4Reason(_ b: [UInt8]) -> String? {
        guard b.count == 4 else { return "malformed" }
        switch (b[0], b[1]) {
        case (0, _): return "unspecified (0.0.0.0/8)"
        case (10, _): return "private (10.0.0.0/8)"
        case (100, 64...127): return "shared carrier-grade NAT (100.64.0.0/10)"
        case (127, _): return "loopback (127.0.0.0/8)"
        case (169, 254): return "link-local (169.254.0.0/16)"
        case (172, 16...31): return "private (172.16.0.0/12)"
        case (192, 0) where b[2] == 0: return "reserved (192.0.0.0/24)"
        case (192, 168): return "private (192.168.0.0/16)"
        case (198, 18...19): return "reserved for benchmarking (198.18.0.0/15)"
        case (224...239, _): return "multicast (224.0.0.0/4)"
        case (240...255, _): return "reserved (240.0.0.0/4)"
        default: return nil
        }
    }

    static func v6Reason(_ b: [UInt8]) -> String? {
        guard b.count == 16 else { return "malformed" }
        let first10Zero = b[0..<10].allSatisfy { $0 == 0 }
        if first10Zero, b[10] == 0xff, b[11] == 0xff {
            return v4Reason(Array(b[12..<16])).map { "IPv4-mapped \($0)" }
        }
        if first10Zero, b[10] == 0, b[11] == 0 {
            if b[12..<15].allSatisfy({ $0 == 0 }) {
                if b[15] == 0 { return "unspecified (::)" }
                if b[15] == 1 { return "loopback (::1)" }
            }
            return v4Reason(Array(b[12..<16])).map { "IPv4-compatible \($0)" } ?? "IPv4-compatible (::/96)"
        }
        if b[0..<12].elementsEqual([0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) {
            return v4Reason(Array(b[12..<16])).map { "NAT64 \($0)" }
        }
        if b[0] == 0x20, b[1] == 0x02 {
            return v4Reason(Array(b[2..<6])).map { "6to4 \($0)" }
        }
        if b[0] == 0x01, b[1] == 0x00, b[2..<8].allSatisfy({ $0 == 0 }) { return "discard-only (100::/64)" }
        if b[0] & 0xfe == 0xfc { return "unique-local (fc00::/7)" }
        if b[0] == 0xfe, b[1] & 0xc0 == 0x80 { return "link-local (fe80::/10)" }
        if b[0] == 0xfe, b[1] & 0xc0 == 0xc0 { return "site-local (fec0::/10)" }
        if b[0] == 0xff { return "multicast (ff00::/8)" }
        return nil
    }
}
