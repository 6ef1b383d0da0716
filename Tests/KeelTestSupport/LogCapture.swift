import Logging
import Synchronization

/// Keeps every log line (level, message and all metadata), so tests can check what is logged —
/// and what never is.
public final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])

    public init() {}

    public var lines: [String] { stored.withLock { $0 } }

    public func logger(_ label: String = "keel-test.capture") -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.stored.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
        }
    }
}
