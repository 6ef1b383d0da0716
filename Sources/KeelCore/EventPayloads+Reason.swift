import Foundation

/// `reason.started`: before each model call.
public struct ReasonStartedPayload: EventPayload {
    public static let eventType = EventType.reasonStarted

    public struct Metadata: Codable, Sendable, Hashable {
        public var model: String
        public var modelID: String
        @ExplicitNull public var providerID: String?
        public var provider: String

        enum CodingKeys: String, CodingKey {
            case model
            case modelID = "model_id"
            case providerID = "provider_id"
            case provider
        }

        public init(model: String, modelID: String, providerID: String?, provider: String) {
            self.model = model
            self.modelID = modelID
            self.providerID = providerID
            self.provider = provider
        }
    }

    @ExplicitNull public var agentID: String?
    public var iteration: Int
    public var metadata: Metadata

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case iteration, metadata
    }

    public init(agentID: String?, iteration: Int, metadata: Metadata) {
        self.agentID = agentID
        self.iteration = iteration
        self.metadata = metadata
    }
}

/// `reason.thinking.started`: the model began exposing its reasoning.
public struct ReasonThinkingStartedPayload: EventPayload {
    public static let eventType = EventType.reasonThinkingStarted
    public var turnID: String
    public var model: String

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case model
    }

    public init(turnID: String, model: String) {
        self.turnID = turnID
        self.model = model
    }
}

/// `reason.thinking.delta`: more reasoning text.
public struct ReasonThinkingDeltaPayload: EventPayload {
    public static let eventType = EventType.reasonThinkingDelta
    public var turnID: String
    public var delta: String
    public var accumulated: String

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case delta, accumulated
    }

    public init(turnID: String, delta: String, accumulated: String) {
        self.turnID = turnID
        self.delta = delta
        self.accumulated = accumulated
    }
}

/// `reason.thinking.completed`: the whole reasoning text.
public struct ReasonThinkingCompletedPayload: EventPayload {
    public static let eventType = EventType.reasonThinkingCompleted
    public var turnID: String
    public var thinking: String

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case thinking
    }

    public init(turnID: String, thinking: String) {
        self.turnID = turnID
        self.thinking = thinking
    }
}

/// `output.message.started`: generation of an agent message begins.
public struct OutputMessageStartedPayload: EventPayload {
    public static let eventType = EventType.outputMessageStarted
    public var turnID: String
    public var messageID: String
    public var model: String
    public var iteration: Int

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case messageID = "message_id"
        case model, iteration
    }

    public init(turnID: String, messageID: String, model: String, iteration: Int) {
        self.turnID = turnID
        self.messageID = messageID
        self.model = model
        self.iteration = iteration
    }
}

/// `output.message.delta`: batched streamed text.
public struct OutputMessageDeltaPayload: EventPayload {
    public static let eventType = EventType.outputMessageDelta
    public var turnID: String
    public var messageID: String
    public var delta: String
    public var accumulated: String

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case messageID = "message_id"
        case delta, accumulated
    }

    public init(turnID: String, messageID: String, delta: String, accumulated: String) {
        self.turnID = turnID
        self.messageID = messageID
        self.delta = delta
        self.accumulated = accumulated
    }
}

/// `output.message.completed`: an agent message was stored (also the user-visible error text,
/// with `error_code`).
public struct OutputMessageCompletedPayload: EventPayload {
    public static let eventType = EventType.outputMessageCompleted

    public struct Metadata: Codable, Sendable, Hashable {
        public var model: String
        public init(model: String) { self.model = model }
    }

    public var message: Message
    public var metadata: Metadata
    public var usage: Usage
    public var errorCode: String?

    enum CodingKeys: String, CodingKey {
        case message, metadata, usage
        case errorCode = "error_code"
    }

    public init(message: Message, model: String, usage: Usage, errorCode: String? = nil) {
        self.message = message
        self.metadata = Metadata(model: model)
        self.usage = usage
        self.errorCode = errorCode
    }
}

/// `llm.generation`: after every model call, successful or not (a failed call has no `tools`,
/// no usage and an `error`).
public struct LLMGenerationPayload: EventPayload {
    public static let eventType = EventType.llmGeneration

    public struct Output: Codable, Sendable, Hashable {
        public var text: String
        public var toolCalls: [ToolCall]

        enum CodingKeys: String, CodingKey {
            case text
            case toolCalls = "tool_calls"
        }

        public init(text: String, toolCalls: [ToolCall]) {
            self.text = text
            self.toolCalls = toolCalls
        }
    }

    public struct Metadata: Codable, Sendable, Hashable {
        public var model: String
        public var provider: String
        public var usage: Usage?
        public var durationMS: Int
        public var success: Bool
        public var error: String?
        public var finishReasons: [String]?
        /// Outer nil: not on the wire (failed calls); inner nil: `null` (the provider sent none).
        public var responseID: String??
        public var timeToFirstTokenMS: Int?

        enum CodingKeys: String, CodingKey {
            case model, provider, usage
            case durationMS = "duration_ms"
            case success, error
            case finishReasons = "finish_reasons"
            case responseID = "response_id"
            case timeToFirstTokenMS = "time_to_first_token_ms"
        }

        public init(
            model: String, provider: String, usage: Usage? = nil, durationMS: Int, success: Bool,
            error: String? = nil, finishReasons: [String]? = nil, responseID: String?? = nil,
            timeToFirstTokenMS: Int? = nil
        ) {
            self.model = model
            self.provider = provider
            self.usage = usage
            self.durationMS = durationMS
            self.success = success
            self.error = error
            self.finishReasons = finishReasons
            self.responseID = responseID
            self.timeToFirstTokenMS = timeToFirstTokenMS
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            model = try container.decode(String.self, forKey: .model)
            provider = try container.decode(String.self, forKey: .provider)
            usage = try container.decodeIfPresent(Usage.self, forKey: .usage)
            durationMS = try container.decode(Int.self, forKey: .durationMS)
            success = try container.decode(Bool.self, forKey: .success)
            error = try container.decodeIfPresent(String.self, forKey: .error)
            finishReasons = try container.decodeIfPresent([String].self, forKey: .finishReasons)
            // Present-but-null and absent differ on the wire (see `responseID`).
            responseID =
                container.allKeys.contains(.responseID) ? .some(try container.decodeIfPresent(String.self, forKey: .responseID)) : nil
            timeToFirstTokenMS = try container.decodeIfPresent(Int.self, forKey: .timeToFirstTokenMS)
        }
    }

    public var tools: [String]?
    public var output: Output
    public var metadata: Metadata

    public init(tools: [String]?, output: Output, metadata: Metadata) {
        self.tools = tools
        self.output = output
        self.metadata = metadata
    }
}

/// `reason.completed`: after each model call.
public struct ReasonCompletedPayload: EventPayload {
    public static let eventType = EventType.reasonCompleted
    public var success: Bool
    public var textPreview: String?
    public var hasToolCalls: Bool
    public var toolCallCount: Int
    public var error: String?
    public var durationMS: Int
    public var usage: Usage?

    enum CodingKeys: String, CodingKey {
        case success
        case textPreview = "text_preview"
        case hasToolCalls = "has_tool_calls"
        case toolCallCount = "tool_call_count"
        case error
        case durationMS = "duration_ms"
        case usage
    }

    public init(
        success: Bool, textPreview: String?, hasToolCalls: Bool, toolCallCount: Int, error: String?,
        durationMS: Int, usage: Usage?
    ) {
        self.success = success
        self.textPreview = textPreview
        self.hasToolCalls = hasToolCalls
        self.toolCallCount = toolCallCount
        self.error = error
        self.durationMS = durationMS
        self.usage = usage
    }
}
