import Foundation
import KeelCore

/// Settings for sending turn traces to Braintrust as project log rows (REST API).
///
/// Read from the environment with ``init(environment:deploymentGrade:)``. The API key is never
/// part of ``description`` or of any error, so a configuration can be logged safely.
struct BraintrustSettings: Sendable, Equatable, CustomStringConvertible {
    static let defaultAPIURL = "https://api.braintrust.dev"
    static let defaultProjectName = "My Project"

    /// `BRAINTRUST_API_KEY`, sent as `Authorization: Bearer <key>`.
    var apiKey: String
    /// `BRAINTRUST_API_URL` without a trailing slash.
    var apiURL: String
    /// `BRAINTRUST_PROJECT_NAME`: created in Braintrust if it does not exist yet.
    var projectName: String
    /// `BRAINTRUST_PROJECT_ID`: used as-is, with no call to resolve the name.
    var projectID: String?
    /// `BRAINTRUST_RECORD_CONTENT`: when false, message content, tool arguments and tool results are
    /// replaced by `{redacted: true, summary: {...}}` (shape only, no text).
    var recordContent: Bool
    /// The server's `DEPLOYMENT_GRADE`, copied into each row's metadata.
    var deploymentGrade: String?
    /// `BRAINTRUST_QUEUE_CAPACITY`: spans waiting to be sent; more are dropped and counted.
    var queueCapacity: Int
    /// `BRAINTRUST_MAX_BATCH_SIZE`: rows per insert request.
    var maxBatchSize: Int
    /// `BRAINTRUST_FLUSH_INTERVAL_MS`: how often queued spans are sent even when a batch is not full.
    var flushInterval: Duration
    /// `BRAINTRUST_REQUEST_TIMEOUT_MS`: bound on one HTTP exchange, response body included.
    var requestTimeout: Duration
    /// `BRAINTRUST_MAX_RETRIES`: retries after the first attempt (3 means up to 4 attempts).
    var maxRetries: Int
    /// `BRAINTRUST_RETRY_BASE_DELAY_MS`: delay before retry n is `base · 2^(n-1)` plus 0–25 % jitter…
    var retryBaseDelay: Duration
    /// …capped by `BRAINTRUST_RETRY_MAX_DELAY_MS`.
    var retryMaxDelay: Duration
    /// How long startup keeps trying to resolve the project before giving up (not an env variable).
    var startupTimeout: Duration

    init(
        apiKey: String,
        apiURL: String = BraintrustSettings.defaultAPIURL,
        projectName: String = BraintrustSettings.defaultProjectName,
        projectID: String? = nil,
        recordContent: Bool = false,
        deploymentGrade: String? = nil,
        queueCapacity: Int = 1024,
        maxBatchSize: Int = 50,
        flushInterval: Duration = .milliseconds(500),
        requestTimeout: Duration = .milliseconds(10_000),
        maxRetries: Int = 3,
        retryBaseDelay: Duration = .milliseconds(250),
        retryMaxDelay: Duration = .milliseconds(5_000),
        startupTimeout: Duration = .seconds(10)
    ) {
        self.apiKey = apiKey
        self.apiURL = Self.trimmingTrailingSlashes(apiURL)
        self.projectName = projectName
        self.projectID = projectID
        self.recordContent = recordContent
        self.deploymentGrade = deploymentGrade
        self.queueCapacity = queueCapacity
        self.maxBatchSize = maxBatchSize
        self.flushInterval = flushInterval
        self.requestTimeout = requestTimeout
        self.maxRetries = maxRetries
        self.retryBaseDelay = retryBaseDelay
        self.retryMaxDelay = retryMaxDelay
        self.startupTimeout = startupTimeout
    }

    /// Reads the `BRAINTRUST_*` variables.
    ///
    /// Nil (Braintrust off) when `BRAINTRUST_API_KEY` is unset or blank, or when
    /// `BRAINTRUST_ENABLED` is false; the other variables are then not validated. Throws a
    /// ``ConfigurationError`` naming the variable for any value that cannot be used.
    init?(environment: [String: String], deploymentGrade: String? = nil) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        if let enabled = try reader.bool("BRAINTRUST_ENABLED", spelling: .onOff), !enabled { return nil }
        guard let key = reader.value("BRAINTRUST_API_KEY") else { return nil }
        guard !key.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            // The value is a secret: say what is wrong without quoting it.
            throw ConfigurationError(variable: "BRAINTRUST_API_KEY", message: "must not contain whitespace")
        }

        var configuration = BraintrustSettings(apiKey: key, deploymentGrade: deploymentGrade)
        if let url = reader.value("BRAINTRUST_API_URL") {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
                components.query == nil, components.fragment == nil
            else {
                throw ConfigurationError.invalid("BRAINTRUST_API_URL", expected: "an http(s) URL such as \(Self.defaultAPIURL)", got: url)
            }
            configuration.apiURL = Self.trimmingTrailingSlashes(url)
        }
        if let name = reader.value("BRAINTRUST_PROJECT_NAME") { configuration.projectName = name }
        if let id = reader.value("BRAINTRUST_PROJECT_ID") {
            // It becomes a URL path segment, so only id characters are accepted.
            guard id.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }),
                id.unicodeScalars.allSatisfy(\.isASCII)
            else {
                throw ConfigurationError.invalid("BRAINTRUST_PROJECT_ID", expected: "a project id (UUID)", got: id)
            }
            configuration.projectID = id
        }
        configuration.recordContent = try reader.bool("BRAINTRUST_RECORD_CONTENT", spelling: .onOff) ?? false
        configuration.queueCapacity = try reader.int("BRAINTRUST_QUEUE_CAPACITY", minimum: 1) ?? configuration.queueCapacity
        configuration.maxBatchSize = try reader.int("BRAINTRUST_MAX_BATCH_SIZE", minimum: 1) ?? configuration.maxBatchSize
        configuration.maxRetries = try reader.int("BRAINTRUST_MAX_RETRIES", minimum: 0, maximum: 100) ?? configuration.maxRetries
        if let millis = try reader.int("BRAINTRUST_FLUSH_INTERVAL_MS", minimum: 1) {
            configuration.flushInterval = .milliseconds(millis)
        }
        if let millis = try reader.int("BRAINTRUST_REQUEST_TIMEOUT_MS", minimum: 1) {
            configuration.requestTimeout = .milliseconds(millis)
        }
        if let millis = try reader.int("BRAINTRUST_RETRY_BASE_DELAY_MS", minimum: 0) {
            configuration.retryBaseDelay = .milliseconds(millis)
        }
        if let millis = try reader.int("BRAINTRUST_RETRY_MAX_DELAY_MS", minimum: 0) {
            configuration.retryMaxDelay = .milliseconds(millis)
        }
        self = configuration
    }

    /// Everything but the key.
    var description: String {
        var parts = [
            "api_url=\(apiURL)",
            projectID.map { "project_id=\($0)" } ?? "project_name=\(projectName)",
            "record_content=\(recordContent)",
            "queue_capacity=\(queueCapacity)",
            "max_batch_size=\(maxBatchSize)",
            "flush_interval=\(flushInterval)",
            "request_timeout=\(requestTimeout)",
            "max_retries=\(maxRetries)",
        ]
        if let deploymentGrade { parts.append("deployment_grade=\(deploymentGrade)") }
        return "BraintrustSettings(\(parts.joined(separator: ", ")), api_key=<redacted>)"
    }

    static func trimmingTrailingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

