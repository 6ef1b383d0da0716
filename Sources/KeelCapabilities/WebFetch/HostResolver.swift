import KeelCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves a host name to every address it maps to, with the system resolver.
///
/// `getaddrinfo` blocks (for seconds when a name server does not answer), so it runs on a pool of
/// its own rather than on the Swift concurrency pool, which must never block, or NIO's singleton
/// pool, which other blocking work shares. Every address is returned because a host
/// that resolves to one public and one private address must be refused: the HTTP client might
/// connect to either.
public enum HostResolver {
    /// Lookups in flight at once per process; more wait their turn.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    public static func resolve(_ host: String) async throws -> [IPAddress] {
        try await pool.runIfActive { try resolveBlocking(host) }
    }

    static func resolveBlocking(_ host: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            throw ToolError("could not resolve host '\(host)': \(reason)")
        }
        defer { freeaddrinfo(first) }

        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr {
                switch entry.pointee.ai_family {
                case AF_INET:
                    let raw = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(.v4(withUnsafeBytes(of: raw) { Array($0) }))
                case AF_INET6:
                    let raw = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(.v6(withUnsafeBytes(of: raw) { Array($0) }))
                default:
                    break
                }
            }
            cursor = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw ToolError("could not resolve host '\(host)': no IP addresses") }
        // Deduplicated (one entry per socket type otherwise), in the resolver's preference order.
        var seen: Set<IPAddress> = []
        return addresses.filter { seen.insert($0).inserted }
    }
}
