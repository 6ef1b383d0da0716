import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import Logging
import NIOCore
import Synchronization

/// A stand-in for Braintrust's REST API on 127.0.0.1 (ephemeral port), checking what the real
/// service checks (observability.md §6d): Bearer auth on every call, `POST /v1/project`
/// create-or-get, `GET /v1/project?project_name=`, and `POST /v1/project_logs/{id}/insert`
/// with row validation. Inconsistencies are collected in `violations` rather than failing the
/// request, so a test can assert there were none.
final class BraintrustFakeServer: Sendable {
    struct Insert: Sendable {
        var projectID: String
        var status: Int
        var rawBody: String
    }

    private struct State {
        /// name → id
        var projects: [String: String] = [:]
        /// Names sent to `POST /v1/project`, in order.
        var projectCalls: [String] = []
        var lookups: [String] = []
        var inserts: [Insert] = []
        /// Stored rows per project, in arrival order.
        var rows: [String: [JSONValue]] = [:]
        /// Statuses to answer the next insert attempts with, before accepting.
        var scriptedInsertStatuses: [Int] = []
        /// Statuses to answer the next `POST /v1/project` calls with, before answering normally.
        var scriptedProjectStatuses: [Int] = []
        var unauthorized = 0
        var violations: [String] = []
    }

    static let allowedSpanTypes: Set<String> = ["llm", "score", "function", "eval", "task", "tool"]

    let apiKey: String
    private let state = Mutex(State())

    init(apiKey: String, projects: [String: String] = [:]) {
        self.apiKey = apiKey
        state.withLock { $0.projects = projects }
    }

    var projects: [String: String] { state.withLock { $0.projects } }
    var projectCalls: [String] { state.withLock { $0.projectCalls } }
    var inserts: [Insert] { state.withLock { $0.inserts } }
    var unauthorized: Int { state.withLock { $0.unauthorized } }
    var violations: [String] { state.withLock { $0.violations } }
    func rows(project: String) -> [JSONValue] { state.withLock { $0.rows[project] ?? [] } }
    var allRows: [JSONValue] { state.withLock { $0.rows.values.flatMap { $0 } } }

    /// The next insert attempts get these statuses (e.g. `[503]`), then normal answers resume.
    func scriptInserts(_ statuses: [Int]) {
        state.withLock { $0.scriptedInsertStatuses = statuses }
    }

    /// The next `POST /v1/project` calls get these statuses, then normal answers resume.
    func scriptProjectCalls(_ statuses: [Int]) {
        state.withLock { $0.scriptedProjectStatuses = statuses }
    }

    /// Every `span_parents` entry names a `span_id` with the same `root_span_id` (our own
    /// consistency check across everything received).
    func parentViolations() -> [String] {
        let rows = allRows
        var spansByRoot: [String: Set<String>] = [:]
        for row in rows {
            if let root = row["root_span_id"]?.stringValue, let span = row["span_id"]?.stringValue {
                spansByRoot[root, default: []].insert(span)
            }
        }
        var problems: [String] = []
        for row in rows {
            let root = row["root_span_id"]?.stringValue ?? ""
            for parent in row["span_parents"]?.arrayValue ?? [] {
                if spansByRoot[root]?.contains(parent.stringValue ?? "") != true {
                    problems.append("row \(row["id"]?.stringValue ?? "?") has unknown parent \(parent)")
                }
            }
        }
        return problems
    }

    // MARK: Server

    /// Runs the server for the duration of `body`, passing its base URL.
    func run<Result: Sendable>(_ body: (_ baseURL: String) async throws -> Result) async throws -> Result {
        let router = Router()
        router.post("/v1/project") { [self] request, _ -> Response in
            var request = request
            let text = String(buffer: try await request.collectBody(upTo: 1 << 20))
            guard authorized(request) else { return Self.json(401, ["error": "Unauthorized"]) }
            guard let name = JSONValue.parse(text)?["name"]?.stringValue, !name.isEmpty else {
                return Self.json(400, ["error": "name is required"])
            }
            let scripted: Int? = state.withLock { state in
                state.projectCalls.append(name)
                return state.scriptedProjectStatuses.isEmpty ? nil : state.scriptedProjectStatuses.removeFirst()
            }
            if let scripted { return Self.json(scripted, ["error": "scripted failure"]) }
            let id = state.withLock { state -> String in
                if let existing = state.projects[name] { return existing }
                let id = UUID().uuidString.lowercased()
                state.projects[name] = id
                return id
            }
            return Self.json(200, ["id": .string(id), "name": .string(name), "org_id": "org-test", "created": "2026-01-01T00:00:00Z"])
        }
        router.get("/v1/project") { [self] request, _ -> Response in
            guard authorized(request) else { return Self.json(401, ["error": "Unauthorized"]) }
            let name = request.uri.queryParameters.get("project_name") ?? ""
            let objects: [JSONValue] = state.withLock { state in
                state.lookups.append(name)
                return state.projects[name].map { [["id": .string($0), "name": .string(name)]] } ?? []
            }
            return Self.json(200, ["objects": .array(objects)])
        }
        router.post("/v1/project_logs/{id}/insert") { [self] request, context -> Response in
            var request = request
            let text = String(buffer: try await request.collectBody(upTo: 16 << 20))
            let projectID = context.parameters.get("id") ?? ""
            guard authorized(request) else {
                record(Insert(projectID: projectID, status: 401, rawBody: text))
                return Self.json(401, ["error": "Unauthorized"])
            }
            let scripted: Int? = state.withLock { state in
                state.scriptedInsertStatuses.isEmpty ? nil : state.scriptedInsertStatuses.removeFirst()
            }
            if let scripted {
                record(Insert(projectID: projectID, status: scripted, rawBody: text))
                return Self.json(scripted, ["error": "scripted failure"])
            }
            guard state.withLock({ $0.projects.values.contains(projectID) }) else {
                record(Insert(projectID: projectID, status: 404, rawBody: text))
                return Self.json(404, ["error": "project not found"])
            }
            guard let events = JSONValue.parse(text)?["events"]?.arrayValue else {
                record(Insert(projectID: projectID, status: 400, rawBody: text))
                return Self.json(400, ["error": "events must be a list"])
            }
            let problems = events.flatMap(Self.validate)
            record(Insert(projectID: projectID, status: 200, rawBody: text))
            state.withLock { state in
                state.violations.append(contentsOf: problems)
                state.rows[projectID, default: []].append(contentsOf: events)
            }
            let ids = events.map { $0["id"] ?? .string(UUID().uuidString) }
            return Self.json(200, ["row_ids": .array(ids)])
        }

        return try await LoopbackServer.run(router, label: "braintrust-fake") { baseURL, _ in try await body(baseURL) }
    }

    private func authorized(_ request: Request) -> Bool {
        let ok = request.headers[.authorization] == "Bearer \(apiKey)"
        if !ok { state.withLock { $0.unauthorized += 1 } }
        return ok
    }

    private func record(_ insert: Insert) {
        state.withLock { $0.inserts.append(insert) }
    }

    /// What the real API rejects or what would make a broken tree.
    static func validate(_ row: JSONValue) -> [String] {
        var problems: [String] = []
        let id = row["id"]?.stringValue ?? "?"
        guard row.objectValue != nil else { return ["event is not an object"] }
        if let type = row["span_attributes"]?["type"]?.stringValue, !allowedSpanTypes.contains(type) {
            problems.append("\(id): span type \(type) not allowed")
        }
        if let metrics = row["metrics"] {
            guard let object = metrics.objectValue else { return problems + ["\(id): metrics not an object"] }
            for (key, value) in object where value.doubleValue == nil {
                problems.append("\(id): metric \(key) is not a number")
            }
            if let start = object["start"]?.doubleValue, let end = object["end"]?.doubleValue, start > end {
                problems.append("\(id): start after end")
            }
        }
        if let parents = row["span_parents"] {
            if parents.arrayValue?.allSatisfy({ $0.stringValue != nil }) != true {
                problems.append("\(id): span_parents is not a string list")
            }
        }
        if row["span_id"] != nil, row["root_span_id"] == nil {
            problems.append("\(id): span_id without root_span_id")
        }
        if let created = row["created"]?.stringValue, KeelJSON.parseTimestamp(created) == nil {
            problems.append("\(id): created is not ISO-8601")
        }
        return problems
    }

    private static func json(_ status: Int, _ body: JSONValue) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body.jsonString)))
    }
}

/// Captures log entries (message and metadata as text) from loggers made by `logger(_:)`.
final class BraintrustLogRecorder: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]

        var text: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private let entries = Mutex<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }
    var text: String { all.map(\.text).joined(separator: "\n") }

    func logger(_ label: String = "braintrust-tests") -> Logger {
        Logger(label: label) { _ in Handler(recorder: self) }
    }

    fileprivate func append(_ entry: Entry) {
        entries.withLock { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let recorder: BraintrustLogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        func log(event: LogEvent) {
            var merged = metadata
            for (key, value) in event.metadata ?? [:] { merged[key] = value }
            recorder.append(
                Entry(level: event.level, message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }
}
