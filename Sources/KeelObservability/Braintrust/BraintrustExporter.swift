import KeelCore

/// Sends spans to one Braintrust project as log rows, one insert request per batch.
///
/// One attempt per call: retries, batching and queueing belong to the pipeline in front of it.
/// Throws `ExportError.retryable` for 408/429/5xx, timeouts and connection failures, and
/// `ExportError.permanent` for other 4xx (bad key, unknown project, rejected rows).
public struct BraintrustExporter: SpanExporter {
    public let client: BraintrustClient
    public let projectID: String
    public let mapper: BraintrustRowMapper

    public init(client: BraintrustClient, projectID: String, mapper: BraintrustRowMapper) {
        self.client = client
        self.projectID = projectID
        self.mapper = mapper
    }

    public func rows(for spans: [SpanRecord]) -> [JSONValue] {
        spans.map(mapper.row(for:))
    }

    public func export(_ spans: [SpanRecord]) async throws {
        guard !spans.isEmpty else { return }
        do {
            try await client.insert(rows(for: spans), projectID: projectID)
        } catch let error as BraintrustError {
            throw error.exportError
        }
    }
}
