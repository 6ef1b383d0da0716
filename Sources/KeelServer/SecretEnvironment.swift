import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Removes secret values from the process's own environment once the configuration has read them.
///
/// `unsetenv` alone is not enough: it only drops the pointer from `environ`, while
/// `/proc/<pid>/environ` shows the memory block the kernel filled at `execve`, which still holds
/// the text. So the value bytes are also overwritten with NULs in place (environment strings are
/// writable memory). Children spawned afterwards, and anyone allowed to read
/// `/proc/<pid>/environ`, then see `NAME=` with no value.
public enum SecretEnvironment {
    static let secretNames: Set<String> = [
        "SECRETS_ENCRYPTION_KEY", "SECRETS_ENCRYPTION_KEY_PREVIOUS", "WORKER_GRPC_AUTH_TOKEN", "BRAINTRUST_API_KEY",
        "DATABASE_URL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "LANGFUSE_SECRET_KEY",
        "LANGFUSE_PUBLIC_KEY", "PHOENIX_API_KEY", "PHOENIX_CLIENT_HEADERS", "PGPASSWORD",
        "WEBHOOK_SIGNING_SECRET",
    ]
    static let secretSuffixes = ["_API_KEY", "_SECRET_KEY", "_AUTH_TOKEN", "_PASSWORD"]

    /// Whether a variable named `name` holds a secret (`DEFAULT_*_API_KEY` and friends).
    static func isSecret(_ name: String) -> Bool {
        secretNames.contains(name) || secretSuffixes.contains { name.hasSuffix($0) }
    }

    /// Scrubs every secret variable; returns their names. Call once at start-up, after the
    /// configuration is parsed and before other threads read the environment.
    @discardableResult
    public static func scrub() -> [String] {
        var found: [(name: String, value: UnsafeMutablePointer<CChar>)] = []
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = environ
        while let pointer = entry.pointee {
            if let equals = strchr(pointer, Int32(UInt8(ascii: "="))) {
                let name = String(decoding: UnsafeRawBufferPointer(start: pointer, count: equals - pointer), as: UTF8.self)
                if isSecret(name) { found.append((name, equals + 1)) }
            }
            entry += 1
        }
        for (name, value) in found {
            unsetenv(name)
            memset(value, 0, strlen(value))
        }
        return found.map(\.name)
    }
}
