#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-descriptor limit (`RLIMIT_NOFILE`). Every HTTP connection holds one, so the
/// soft limit — often 1024 by default — is raised to the hard limit at start.
public enum DescriptorLimit {
    public struct Values: Sendable, Equatable {
        public var soft: UInt64
        public var hard: UInt64
    }

    /// The current soft and hard limits, or nil when they cannot be read.
    public static func current() -> Values? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return nil }
        return Values(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit; returns the limits in force afterwards.
    @discardableResult
    public static func raiseToHardLimit() -> Values? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            #if canImport(Darwin)
            // macOS refuses RLIM_INFINITY for descriptors; OPEN_MAX is its real ceiling.
            if raised.rlim_cur > rlim_t(OPEN_MAX) { raised.rlim_cur = rlim_t(OPEN_MAX) }
            #endif
            _ = setrlimit(Self.resource, &raised)
        }
        return current()
    }

    /// Sets the soft limit (tests lower it to prove the start raises it again).
    @discardableResult
    public static func setSoftLimit(_ soft: UInt64) -> Bool {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return false }
        limit.rlim_cur = rlim_t(soft)
        return setrlimit(Self.resource, &limit) == 0
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
