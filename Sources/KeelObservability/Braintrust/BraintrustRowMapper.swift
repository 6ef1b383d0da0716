import Foundation
import KeelCore

/// Turns finished spans into Braintrust project log rows (`InsertProjectLogsEvent`).
///
/// Tree and ids, one scheme for every row (Braintrust's own OTel-compatible id mode):
/// - `id` and `span_id` are the span's own 16-hex id, so a re-sent span overwrites its row;
/// - `root_span_id` is the trace id (32 hex), which every span of a turn carries, so the rows of
///   a turn form one Braintrust trace with the same ids as the OTLP export of that turn;
/// - `span_parents` is `[parent span id hex]`; the `invoke_agent` span never has parents (a
///   remote caller's span from `traceparent` is not in Braintrust), which makes it the root.
///   The root's `span_id` therefore differs from `root_span_id`, as in Braintrust's OTel mode.
///   (Turns that share one W3C trace id through `traceparent` share one Braintrust trace too,
///   just as they do in the OTLP backends.)
///
/// Token counts go into `metrics` on `llm` rows only: Braintrust adds metrics up across a trace,
/// so repeating the turn's and reason's totals would count tokens two or three times. Task rows
/// carry their totals in `metadata.usage` instead.
struct BraintrustRowMapper: Sendable {
    /// Copy messages, tool arguments and tool results into rows; otherwise only their shape.
    var recordContent: Bool
    var deploymentGrade: String?

    init(recordContent: Bool, deploymentGrade: String? = nil) {
        self.recordContent = recordContent
        self.deploymentGrade = deploymentGrade
    }

    init(configuration: BraintrustSettings) {
        self.init(recordContent: configuration.recordContent, deploymentGrade: configuration.deploymentGrade)
    }

    /// Braintrust span types used here.
    enum SpanType: String {
        case task, llm, tool
    }

    /// The row for one span: the fields every row has, then those of its kind (`llm`, `tool`
    /// or `task`).
    func row(for span: SpanRecord) -> JSONValue {
        let attributes = Attributes(span: span)
        let operation = attributes.string("gen_ai.operation.name") ?? Self.operation(fromSpanName: span.name)
        let model = attributes.string("gen_ai.request.model") ?? attributes.string("gen_ai.response.model")
        let toolName = attributes.string("gen_ai.tool.name")
        let (type, name): (SpanType, String) =
            switch operation {
            case "invoke_agent": (.task, "agent turn")
            case "reason": (.task, "reason")
            case "thinking": (.task, "thinking")
            case "act": (.task, "act")
            case "chat": (.llm, model.map { "chat \($0)" } ?? "chat")
            case "execute_tool": (.tool, toolName.map { "tool \($0)" } ?? "tool")
            default: (.task, span.name)
            }

        var row = Self.identity(of: span, name: name, type: type, operation: operation)
        let errorMessage: String? =
            if case .error(let message) = span.status { message.isEmpty ? (attributes.string("error.type") ?? "error") : message } else { nil }
        if let errorMessage { row["error"] = .string(errorMessage) }
        var metadata = metadata(of: span, operation: operation, model: model, attributes: attributes)
        var metrics = Self.timing(of: span, attributes: attributes)
        let tokens = TokenCounts(attributes)
        switch type {
        case .llm:
            tokens.addMetrics(to: &metrics)
        case .task, .tool:
            // Braintrust adds `metrics` up across a trace; totals would count tokens twice.
            if let usage = tokens.usage { metadata["usage"] = usage }
        }
        switch type {
        case .tool:
            toolFields(of: attributes, toolName: toolName, errorMessage: errorMessage, row: &row, metadata: &metadata)
        case .llm, .task:
            messageFields(of: attributes, row: &row)
        }
        row["metadata"] = .object(metadata)
        row["metrics"] = .object(metrics)
        return .object(row)
    }

    /// Ids, tree and name: the same scheme for every row (see the type's documentation).
    private static func identity(of span: SpanRecord, name: String, type: SpanType, operation: String)
        -> [String: JSONValue]
    {
        let spanID = HexID.hex(span.spanID)
        var row: [String: JSONValue] = [
            "id": .string(spanID),
            "span_id": .string(spanID),
            "root_span_id": .string(HexID.hex(span.traceID)),
            "created": .string(KeelJSON.timestamp(span.start)),
            "span_attributes": ["name": .string(name), "type": .string(type.rawValue)],
        ]
        if operation != "invoke_agent", let parent = span.parentSpanID {
            row["span_parents"] = [.string(HexID.hex(parent))]
        }
        return row
    }

    /// Identifiers and facts, never content.
    private func metadata(of span: SpanRecord, operation: String, model: String?, attributes: Attributes)
        -> [String: JSONValue]
    {
        // Only the root has `turn.id`; every span has the runtime metadata copy.
        let turnID = attributes.string("turn.id") ?? attributes.string(Self.requestMetadataPrefix + "turn_id")
        var metadata: [String: JSONValue] = ["operation": .string(operation), "trace_id": .string(HexID.hex(span.traceID))]
        metadata["session_id"] = attributes.json("gen_ai.conversation.id")
        metadata["turn_id"] = turnID.map(JSONValue.string)
        metadata["agent_id"] = attributes.json("gen_ai.agent.id")
        metadata["model"] = model.map(JSONValue.string)
        metadata["response_model"] = attributes.json("gen_ai.response.model")
        metadata["provider"] = attributes.json("gen_ai.system") ?? attributes.json("gen_ai.provider.name")
        metadata["deployment_grade"] = deploymentGrade.map(JSONValue.string)
        metadata["response_id"] = attributes.json("gen_ai.response.id")
        metadata["finish_reasons"] = attributes.json("gen_ai.response.finish_reasons")
        metadata["output_type"] = attributes.json("gen_ai.output.type")
        metadata["iterations"] = attributes.json("turn.iterations")
        metadata["error_type"] = attributes.json("error.type")
        metadata["iteration"] = attributes.json("reason.iteration")
        metadata["turn_status"] = attributes.json("turn.status")
        // The request's own metadata (validated, scalar values), minus the runtime keys above.
        var requestMetadata: [String: JSONValue] = [:]
        for (key, _) in span.attributes where key.hasPrefix(Self.requestMetadataPrefix) {
            let name = String(key.dropFirst(Self.requestMetadataPrefix.count))
            guard !["session_id", "turn_id", "agent_id"].contains(name) else { continue }
            requestMetadata[name] = attributes.json(key)
        }
        if !requestMetadata.isEmpty { metadata["request_metadata"] = .object(requestMetadata) }
        return metadata
    }

    /// Start, end and duration (times in seconds), and time to first token when known.
    private static func timing(of span: SpanRecord, attributes: Attributes) -> [String: JSONValue] {
        let start = span.start.timeIntervalSince1970
        let end = max(start, span.end.timeIntervalSince1970)
        var metrics: [String: JSONValue] = ["start": .number(start), "end": .number(end)]
        metrics["duration_ms"] = .number(attributes.double("duration_ms") ?? (end - start) * 1000)
        if let ttft = attributes.double("time_to_first_token_ms") {
            metrics["time_to_first_token"] = .number(ttft / 1000)
        }
        return metrics
    }

    /// A span's token counts, under the seed or the current semconv names.
    private struct TokenCounts {
        var input: Double?
        var output: Double?
        var cacheRead: Double?
        var cacheCreation: Double?

        init(_ attributes: Attributes) {
            input = attributes.double("gen_ai.usage.input_tokens")
            output = attributes.double("gen_ai.usage.output_tokens")
            cacheRead =
                attributes.double("gen_ai.usage.cache_read_tokens")
                ?? attributes.double("gen_ai.usage.cache_read.input_tokens")
            cacheCreation =
                attributes.double("gen_ai.usage.cache_creation_tokens")
                ?? attributes.double("gen_ai.usage.cache_creation.input_tokens")
        }

        /// On `llm` rows: the metrics Braintrust sums and prices.
        func addMetrics(to metrics: inout [String: JSONValue]) {
            metrics["prompt_tokens"] = input.map(JSONValue.number)
            metrics["completion_tokens"] = output.map(JSONValue.number)
            if input != nil || output != nil { metrics["tokens"] = .number((input ?? 0) + (output ?? 0)) }
            metrics["cache_read_tokens"] = cacheRead.map(JSONValue.number)
            metrics["cache_creation_tokens"] = cacheCreation.map(JSONValue.number)
            // The names Braintrust's own SDK wrappers use, so its cost estimates see cached tokens.
            metrics["prompt_cached_tokens"] = cacheRead.map(JSONValue.number)
            metrics["prompt_cache_creation_tokens"] = cacheCreation.map(JSONValue.number)
        }

        /// On other rows: the totals as `metadata.usage`, nil when the span has none.
        var usage: JSONValue? {
            guard input != nil || output != nil || cacheRead != nil || cacheCreation != nil else { return nil }
            var usage: [String: JSONValue] = [:]
            usage["input_tokens"] = input.map(JSONValue.number)
            usage["output_tokens"] = output.map(JSONValue.number)
            usage["cache_read_tokens"] = cacheRead.map(JSONValue.number)
            usage["cache_creation_tokens"] = cacheCreation.map(JSONValue.number)
            return .object(usage)
        }
    }

    /// A `tool` row's call facts, its input (id, name, arguments) and output (status, result, error).
    private func toolFields(
        of attributes: Attributes, toolName: String?, errorMessage: String?, row: inout [String: JSONValue],
        metadata: inout [String: JSONValue]
    ) {
        let success = attributes.bool("tool.success") ?? (errorMessage == nil)
        let callID = attributes.string("gen_ai.tool.call.id")
        metadata["success"] = .bool(success)
        metadata["tool_name"] = toolName.map(JSONValue.string)
        metadata["tool_call_id"] = callID.map(JSONValue.string)

        var toolInput: [String: JSONValue] = ["tool_call_id": JSONValue(callID), "tool_name": JSONValue(toolName)]
        if let arguments = attributes.content("gen_ai.tool.call.arguments") {
            toolInput["arguments"] = recordContent ? arguments : Self.redacted(arguments)
        }
        let status = attributes.string("tool.status") ?? (success ? "success" : "error")
        var toolOutput: [String: JSONValue] = ["status": .string(status)]
        if let result = attributes.content("gen_ai.tool.call.result") {
            toolOutput["result"] = recordContent ? result : Self.redacted(result)
        }
        if !success { toolOutput["error"] = .string(errorMessage ?? attributes.string("error.type") ?? "tool failed") }
        row["input"] = .object(toolInput)
        row["output"] = .object(toolOutput)
    }

    /// Input and output of other rows: chat spans carry messages, the root `input.value` /
    /// `output.value`.
    private func messageFields(of attributes: Attributes, row: inout [String: JSONValue]) {
        if let messages = attributes.content("gen_ai.input.messages") {
            if recordContent {
                var converted = BraintrustMessages.openAIShape(messages)
                if let instructions = attributes.content("gen_ai.system_instructions") {
                    converted = BraintrustMessages.prependingSystem(instructions, to: converted)
                }
                row["input"] = converted
            } else {
                row["input"] = Self.redacted(messages)
            }
        } else if let value = attributes.content("input.value") {
            row["input"] = recordContent ? value : Self.redacted(value)
        }
        if let messages = attributes.content("gen_ai.output.messages") {
            row["output"] = recordContent ? BraintrustMessages.openAIShape(messages) : Self.redacted(messages)
        } else if let value = attributes.content("output.value") {
            row["output"] = recordContent ? value : Self.redacted(value)
        }
    }

    /// Where `TurnTraceBuilder` puts the runtime ids and the request's metadata on every span.
    static let requestMetadataPrefix = "langfuse.trace.metadata."

    /// The operation when a span lacks `gen_ai.operation.name`: the first word of its name.
    static func operation(fromSpanName name: String) -> String {
        String(name.split(separator: " ", maxSplits: 1).first ?? Substring(name))
    }

    /// `{redacted: true, summary: {type, keys | item_count | char_count}}`: the shape of a value
    /// without its text.
    static func redacted(_ value: JSONValue) -> JSONValue {
        let summary: JSONValue =
            switch value {
            case .object(let object): ["type": "object", "keys": .array(object.keys.sorted().map(JSONValue.string))]
            case .array(let items): ["type": "array", "item_count": JSONValue(items.count)]
            case .string(let text): ["type": "string", "char_count": JSONValue(text.count)]
            case .number: ["type": "number"]
            case .bool: ["type": "boolean"]
            case .null: ["type": "null"]
            }
        return ["redacted": true, "summary": summary]
    }

    /// Typed access to a span's attributes.
    private struct Attributes {
        var span: SpanRecord

        func string(_ key: String) -> String? {
            switch span[attribute: key] {
            case .string(let value): value.isEmpty ? nil : value
            case .int(let value): String(value)
            default: nil
            }
        }

        func double(_ key: String) -> Double? {
            switch span[attribute: key] {
            case .int(let value): Double(value)
            case .double(let value): value.isFinite ? value : nil
            case .string(let value): Double(value).flatMap { $0.isFinite ? $0 : nil }
            default: nil
            }
        }

        func bool(_ key: String) -> Bool? {
            switch span[attribute: key] {
            case .bool(let value): value
            case .string(let value): value == "true" ? true : value == "false" ? false : nil
            default: nil
            }
        }

        /// A scalar or list attribute as JSON.
        func json(_ key: String) -> JSONValue? {
            switch span[attribute: key] {
            case .string(let value): value.isEmpty ? nil : .string(value)
            case .int(let value): .number(Double(value))
            case .double(let value): value.isFinite ? .number(value) : nil
            case .bool(let value): .bool(value)
            case .stringArray(let values): .array(values.map(JSONValue.string))
            case nil: nil
            }
        }

        /// A content attribute (a JSON string) parsed, or as text when it is not JSON.
        func content(_ key: String) -> JSONValue? {
            switch span[attribute: key] {
            case .string(let text): JSONValue.parse(text) ?? .string(text)
            case .stringArray(let values): .array(values.map { JSONValue.parse($0) ?? .string($0) })
            case nil: nil
            default: json(key)
            }
        }
    }
}
