/// Which addresses `web_fetch` refuses to contact unless private addresses are allowed.
///
/// The list covers every range of the IANA IPv4 and IPv6 special-purpose address registries
/// (RFC 6890 and successors) — loopback, RFC 1918 private ranges, link-local (including the
/// 169.254.169.254 cloud metadata endpoint), carrier-grade NAT, documentation (TEST-NET-1/2/3,
/// 2001:db8::/32, 3fff::/20), benchmarking, relay and anycast ranges, unique-local IPv6,
/// multicast and reserved ranges — plus IPv6 forms that embed an IPv4 address (mapped,
/// compatible, NAT64, 6to4), which are judged by the embedded address. Special-purpose ranges
/// that IANA marks globally reachable (e.g. 192.0.0.9) are refused too: a fetch tool has no
/// use for them. The host's own interface addresses are refused separately, by
/// `FetchTargetPolicy`, since they depend on the machine.
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
        case (192, 0) where b[2] == 2: return "documentation (192.0.2.0/24)"
        case (192, 31) where b[2] == 196: return "AS112 anycast (192.31.196.0/24)"
        case (192, 52) where b[2] == 193: return "AMT relay (192.52.193.0/24)"
        case (192, 88) where b[2] == 99: return "6to4 relay anycast (192.88.99.0/24)"
        case (192, 168): return "private (192.168.0.0/16)"
        case (192, 175) where b[2] == 48: return "AS112 direct delegation (192.175.48.0/24)"
        case (198, 18...19): return "reserved for benchmarking (198.18.0.0/15)"
        case (198, 51) where b[2] == 100: return "documentation (198.51.100.0/24)"
        case (203, 0) where b[2] == 113: return "documentation (203.0.113.0/24)"
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
        // Local-use NAT64 prefixes translate to whatever the local network chooses.
        if b[0..<6].elementsEqual([0x00, 0x64, 0xff, 0x9b, 0x00, 0x01]) { return "local-use NAT64 (64:ff9b:1::/48)" }
        // IETF protocol assignments: Teredo, benchmarking, ORCHID, AS112, AMT, drone IDs, …
        if b[0] == 0x20, b[1] == 0x01, b[2] <= 0x01 {
            return "IETF protocol assignment (2001::/23)"
        }
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x0d, b[3] == 0xb8 { return "documentation (2001:db8::/32)" }
        if b[0] == 0x3f, b[1] == 0xff, b[2] & 0xf0 == 0 { return "documentation (3fff::/20)" }
        if b[0] == 0x5f, b[1] == 0x00 { return "segment routing (5f00::/16)" }
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
