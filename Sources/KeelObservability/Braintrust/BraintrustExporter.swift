import KeelCore

/// Sends spans to one Braintrust project as log rows, one insert request per batch.
///
/// One attempt per call: retries, batching and queueing belong to the pipeline in front of it.
/// Throws `ExportError.retryable` for 408/429/5xx, timeouts and connection failures, and
/// `ExportError.permanent` for other 4xx (bad key, unknown project, rejected rows).
struct BraintrustExporter: SpanExporter {
    let client: BraintrustClient
    let project: ResolvedProject
    let mapper: BraintrustRowMapper

    init(client: BraintrustClient, project: ResolvedProject, mapper: BraintrustRowMapper) {
        self.client = client
        self.project = project
        self.mapper = mapper
    }

    init(client: BraintrustClient, projectID: String, mapper: BraintrustRowMapper) {
        self.init(client: client, project: ResolvedProject(id: projectID), mapper: mapper)
    }

    var projectID: String? { project.value }

    func rows(for spans: [SpanRecord]) -> [JSONValue] {
        spans.map(mapper.row(for:))
    }

    func export(_ spans: [SpanRecord]) async throws {
        guard !spans.isEmpty else { return }
        guard let projectID else {
            throw ExportError.permanent(status: nil, detail: "the Braintrust project is not resolved")
        }
        do {
            try await client.insert(rows(for: spans), projectID: projectID)
        } catch let error as BraintrustError {
            throw error.exportError
        }
    }
}
