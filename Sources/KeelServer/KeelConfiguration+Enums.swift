/// How mature the deployment is (`DEPLOYMENT_GRADE`); gates experimental capabilities and seed
/// agents, which only exist in `dev`.
public enum DeploymentGrade: String, Sendable, CaseIterable, Equatable {
    case dev
    case poc
    case preview
    case prod

    /// Experimental capabilities (e.g. Docker Container) and experimental seed agents are only
    /// offered in `dev`, so production never exposes half-finished features.
    public var allowsExperimental: Bool { self == .dev }
}

extension KeelConfiguration {
    /// Log output format (`LOG_FORMAT`): JSON for log shippers, text for humans in DEV_MODE.
    public enum LogFormat: String, Sendable, CaseIterable, Equatable {
        case json
        case text
    }

    /// Minimum log level (`LOG_LEVEL`). Raw values match swift-log's `Logger.Level`, so the
    /// assembly can convert with `Logger.Level(rawValue:)`.
    public enum LogLevel: String, Sendable, CaseIterable, Equatable {
        case trace
        case debug
        case info
        case notice
        case warning
        case error
        case critical
    }
}
