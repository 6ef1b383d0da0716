import Foundation
import Logging
import Synchronization
import Testing

@testable import KeelCore

// MARK: - Scripted LLM driver

/// One scripted model call: deltas streamed in order (optionally spaced by `deltaDelay`), then
/// either an error, a hang until the calling task is cancelled, or a response carrying the
/// concatenated text, the tool calls and the usage.
struct ScriptStep: Sendable {
    var deltas: [LLMDelta] = []
    var toolCalls: [ToolCall] = []
    var usage = Usage()
    var deltaDelay: Duration?
    /// Thrown after the deltas have been streamed.
    var error: (any Error & Sendable)?
    /// After the deltas, wait until the calling task is cancelled.
    var hang = false
    /// Thrown (instead of `CancellationError`) when a hanging step is cancelled, to mimic drivers
    /// that surface cancellation as a transport error.
    var errorOnCancel: (any Error & Sendable)?

    static func text(_ chunks: [String], usage: Usage = Usage(), deltaDelay: Duration? = nil) -> ScriptStep {
        ScriptStep(deltas: chunks.map(LLMDelta.text), usage: usage, deltaDelay: deltaDelay)
    }

    static func tools(_ calls: [ToolCall], text: [String] = [], usage: Usage = Usage()) -> ScriptStep {
        ScriptStep(deltas: text.map(LLMDelta.text), toolCalls: calls, usage: usage)
    }

    static func failure(_ error: any Error & Sendable, after chunks: [String] = []) -> ScriptStep {
        ScriptStep(deltas: chunks.map(LLMDelta.text), error: error)
    }

    static func hang(after chunks: [String], errorOnCancel: (any Error & Sendable)? = nil) -> ScriptStep {
        ScriptStep(deltas: chunks.map(LLMDelta.text), hang: true, errorOnCancel: errorOnCancel)
    }
}

/// Plays back `steps`, one per `generate` call, and records every request it receives.
/// With `repeatLast`, the last step is replayed forever; otherwise running out of steps is an error.
final class ScriptedDriver: LLMDriver {
    private struct State {
        var next = 0
        var requests: [LLMRequest] = []
        var endpoints: [LLMEndpoint] = []
    }

    private let steps: [ScriptStep]
    private let repeatLast: Bool
    private let state = Mutex(State())

    init(_ steps: [ScriptStep], repeatLast: Bool = false) {
        self.steps = steps
        self.repeatLast = repeatLast
    }

    var requests: [LLMRequest] { state.withLock { $0.requests } }
    var callCount: Int { state.withLock { $0.requests.count } }

    func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        let step: ScriptStep? = state.withLock { state in
            state.requests.append(request)
            state.endpoints.append(endpoint)
            defer { state.next += 1 }
            if state.next < steps.count { return steps[state.next] }
            return repeatLast ? steps.last : nil
        }
        guard let step else { throw LLMError.invalidResponse("script exhausted") }

        let started = ContinuousClock.now
        var firstToken: Double?
        var text = ""
        var thinking = ""
        for delta in step.deltas {
            if let delay = step.deltaDelay { try await Task.sleep(for: delay) }
            if firstToken == nil {
                let elapsed = ContinuousClock.now - started
                firstToken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            }
            switch delta {
            case .text(let chunk): text += chunk
            case .thinking(let chunk): thinking += chunk
            }
            try await onDelta(delta)
        }
        if let error = step.error { throw error }
        if step.hang {
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                throw step.errorOnCancel ?? error
            }
            throw LLMError.timeout  // not reached in practice
        }
        return LLMResponse(
            text: text, thinking: thinking, toolCalls: step.toolCalls, usage: step.usage,
            finishReason: step.toolCalls.isEmpty ? "stop" : "tool_calls", responseID: "resp_test",
            model: request.model, timeToFirstToken: firstToken)
    }
}

// MARK: - Recording sink

/// Assigns gapless sequence numbers from 1 and keeps every event in emission order.
final class RecordingSink: TurnEventSink {
    let sessionID: String
    private let log = Mutex<[Event]>([])

    init(sessionID: String = PublicID.make(.session)) {
        self.sessionID = sessionID
    }

    @discardableResult
    func emit(_ type: EventType, context: EventContext, data: JSONValue) async throws -> Event {
        let sessionID = self.sessionID
        return log.withLock { events in
            let event = Event(type: type, sessionID: sessionID, sequence: events.count + 1, context: context, data: data)
            events.append(event)
            return event
        }
    }

    var events: [Event] { log.withLock { $0 } }
    var types: [EventType] { events.map(\.type) }

    func events(_ type: EventType) -> [Event] { events.filter { $0.type == type } }

    var terminalEvents: [Event] { events.filter { EventType.terminal.contains($0.type) } }

    /// Every event as wire JSON, for "never leaks" assertions.
    var eventJSON: [String] {
        events.map { event in
            let data = (try? KeelJSON.encoder.encode(event)) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}

// MARK: - Tools

/// Thread-safe counter shared between a test and its tools.
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

func toolDefinition(_ name: String) -> ToolDefinition {
    ToolDefinition(name: name, description: "test tool \(name)", parameters: ["type": "object", "properties": [:]])
}

/// Returns `{"echo": arguments}`.
struct EchoTool: Tool {
    var name = "echo"
    var invocations = Counter()
    var definition: ToolDefinition { toolDefinition(name) }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        invocations.increment()
        return ["echo": arguments, "session_id": .string(context.sessionID)]
    }
}

/// Always throws a `ToolError`.
struct FailingTool: Tool {
    var message = "file not found: /nope.txt"
    var definition: ToolDefinition { toolDefinition("failing") }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        throw ToolError(message)
    }
}

/// Sleeps for `delay` (cancellably) before answering; `timeout` overrides the plan's limit.
struct SlowTool: Tool {
    var delay: Duration
    var timeout: Duration?
    var started = Counter()
    var finished = Counter()
    var definition: ToolDefinition { toolDefinition("slow") }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        started.increment()
        try await Task.sleep(for: delay)
        finished.increment()
        return "done"
    }
}

/// Waits on a continuation that ignores cancellation, like blocking or cancellation-unaware I/O,
/// until the test signals `release` or `delay` passes; counts the calls that got through.
struct UncooperativeTool: Tool {
    var delay: Duration
    var release = Latch()
    var finished = Counter()
    var definition: ToolDefinition { toolDefinition("stubborn") }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let (delay, release) = (delay, release)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Task.detached {
                await untilEither({ await release.wait() }, { try? await Task.sleep(for: delay) })
                continuation.resume()
            }
        }
        finished.increment()
        return "finally"
    }
}

/// Observes how many calls of `ProbeTool` are inside `call` at once.
final class ConcurrencyProbe: Sendable {
    private struct State {
        var current = 0
        var maximum = 0
        var arrived = 0
        var finished: Set<String> = []
    }

    private let state = Mutex(State())

    func enter() {
        state.withLock { state in
            state.current += 1
            state.arrived += 1
            state.maximum = max(state.maximum, state.current)
        }
    }

    func leave() { state.withLock { $0.current -= 1 } }

    func finish(_ id: String) { _ = state.withLock { $0.finished.insert(id) } }

    func hasFinished(_ id: String) -> Bool { state.withLock { $0.finished.contains(id) } }

    var arrived: Int { state.withLock { $0.arrived } }
    var maximumConcurrency: Int { state.withLock { $0.maximum } }
}

/// Records concurrency in a `ConcurrencyProbe`. With `rendezvous`, each call waits (up to 30 s) until
/// that many calls have entered, so two calls can only both finish quickly if they overlap.
/// With `after` in its arguments, a call then waits (up to 30 s) until the call with that id has
/// returned, so finishing order is fixed without racing a timer. (The bounds are liveness bounds
/// for a loaded machine, where parallel suites can hold the cooperative threads for seconds.) Then it sleeps `delay_ms` and
/// returns `{"id": arguments.id}`.
struct ProbeTool: Tool {
    var probe: ConcurrencyProbe
    var rendezvous: Int?
    var definition: ToolDefinition { toolDefinition("probe") }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        probe.enter()
        defer { probe.leave() }
        let deadline = ContinuousClock.now + .seconds(30)
        if let rendezvous {
            while probe.arrived < rendezvous, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        if let predecessor = arguments["after"]?.stringValue {
            while !probe.hasFinished(predecessor), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        try await Task.sleep(for: .milliseconds(arguments["delay_ms"]?.intValue ?? 0))
        let id = arguments["id"] ?? .null
        if let name = id.stringValue { probe.finish(name) }
        return ["id": id]
    }
}

// MARK: - Tool context

/// A trivial in-memory file system, enough to build a `ToolContext`.
final class StubFileSystem: SessionFileSystem {
    private let files = Mutex<[String: String]>([:])

    func read(_ path: String) async throws -> String {
        guard let content = files.withLock({ $0[path] }) else { throw ToolError("not found: \(path)") }
        return content
    }

    func write(_ path: String, content: String) async throws -> FileStat {
        files.withLock { $0[path] = content }
        return FileStat(path: path, isDirectory: false, size: content.utf8.count, modifiedAt: Date())
    }

    func list(_ path: String) async throws -> [FileStat] {
        files.withLock { files in
            files.filter { $0.key.hasPrefix(path) }.sorted { $0.key < $1.key }.map {
                FileStat(path: $0.key, isDirectory: false, size: $0.value.utf8.count, modifiedAt: Date())
            }
        }
    }

    func delete(_ path: String) async throws { files.withLock { _ = $0.removeValue(forKey: path) } }

    func stat(_ path: String) async throws -> FileStat? {
        files.withLock { files in
            files[path].map { FileStat(path: path, isDirectory: false, size: $0.utf8.count, modifiedAt: Date()) }
        }
    }
}

// MARK: - Harness

let testAPIKey = "sk-SECRET-KEY-0123456789"

/// One loop wired to a scripted driver and a recording sink, over a one-message history.
struct LoopHarness {
    let driver: ScriptedDriver
    let sink: RecordingSink
    let plan: TurnPlan
    let input: Message
    let loop: AgentLoop

    init(
        _ steps: [ScriptStep], repeatLast: Bool = false, tools: [any Tool] = [], maxIterations: Int = 10,
        parallelToolCalls: Bool = true, toolTimeout: Duration = .seconds(5), deltaBatchInterval: Duration = .zero,
        inputText: String = "Hello there"
    ) {
        driver = ScriptedDriver(steps, repeatLast: repeatLast)
        sink = RecordingSink()
        input = Message(role: .user, content: [.text(inputText)])
        plan = TurnPlan(
            sessionID: sink.sessionID, agentID: PublicID.make(.agent), inputMessageID: input.id, model: "gpt-test",
            modelReference: "openai/gpt-test", providerID: PublicID.make(.provider),
            endpoint: LLMEndpoint(providerType: .openai, apiKey: testAPIKey), systemPrompt: "You are a test.",
            tools: tools, maxIterations: maxIterations, parallelToolCalls: parallelToolCalls, toolTimeout: toolTimeout,
            deltaBatchInterval: deltaBatchInterval)
        loop = AgentLoop(
            driver: driver, sink: sink,
            toolContext: ToolContext(sessionID: sink.sessionID, organizationID: BuiltIn.organizationID, files: StubFileSystem()),
            logger: Logger(label: "keel.tests", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func run() async throws -> TurnOutcome {
        try await loop.run(plan, history: [input], inputText: input.text)
    }
}

// MARK: - Small helpers

func toolCall(_ id: String, _ name: String, _ arguments: JSONValue = [:]) -> ToolCall {
    ToolCall(id: id, name: name, arguments: arguments)
}

extension Event {
    /// The `message` payload of `input.message` / `output.message.completed`.
    var message: Message? { try? data["message"]?.decode(Message.self) }
}

extension Message {
    var toolResults: [(id: String, result: JSONValue?, error: String?)] {
        content.compactMap { part in
            if case .toolResult(let id, let result, let error) = part { return (id, result, error) }
            return nil
        }
    }
}

extension TurnOutcome {
    var finalMessageID: String? {
        if case .completed(_, _, let id, _) = self { return id }
        return nil
    }

    var reachedIterationCap: Bool? {
        if case .completed(_, _, _, let capped) = self { return capped }
        return nil
    }

    var errorCode: String? {
        if case .failed(_, _, let code) = self { return code }
        return nil
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
