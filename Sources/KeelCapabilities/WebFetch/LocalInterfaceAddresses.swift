#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The addresses of this host's own network interfaces, read with `getifaddrs`.
///
/// A public address bound to one of the server's interfaces reaches the server itself (and the
/// services listening on it) however public the range is, so `FetchTargetPolicy` refuses those
/// too. Read at every check rather than cached: interfaces come and go (DHCP, VPNs, containers)
/// and `getifaddrs` is a cheap, non-blocking netlink query.
public enum LocalInterfaceAddresses {
    /// Every IPv4 and IPv6 address currently configured on an interface of this host.
    public static func current() -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(first) }
        var addresses: Set<IPAddress> = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            if let socketAddress = entry.pointee.ifa_addr {
                switch Int32(socketAddress.pointee.sa_family) {
                case AF_INET:
                    let raw = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.insert(.v4(withUnsafeBytes(of: raw) { Array($0) }))
                case AF_INET6:
                    let raw = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.insert(.v6(withUnsafeBytes(of: raw) { Array($0) }))
                default:
                    break
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return addresses
    }
}
