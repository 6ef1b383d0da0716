import Foundation
import KeelCore

/// The Agent Protocol fields of an assistant; its prompt, model and tools are its agent's.
public struct AssistantData: Codable, Sendable, Hashable {
    public var agentID: String
    public var graphID: String
    public var name: String
    public var description: String?
    public var config: JSONValue
    public var context: JSONValue
    public var metadata: JSONValue
    public var version: Int
    /// Every version, oldest first (PATCH adds one; `/latest` picks one).
    public var versions: [AssistantVersion]

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case graphID = "graph_id"
        case name, description, config, context, metadata, version, versions
    }
}

public struct AssistantVersion: Codable, Sendable, Hashable {
    public var version: Int
    public var name: String
    public var description: String?
    public var config: JSONValue
    public var context: JSONValue
    public var metadata: JSONValue
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case version, name, description, config, context, metadata
        case createdAt = "created_at"
    }
}

/// The Agent Protocol fields of a thread; its conversation is its session's.
public struct ThreadData: Codable, Sendable, Hashable {
    public var metadata: JSONValue
    /// Created for one stateless run: deleted when the run ends (unless `on_completion: keep`).
    public var ephemeral: Bool?
}

/// A run: the request that started (or resumed) a turn, and where in the session's log it begins.
public struct RunData: Codable, Sendable, Hashable {
    public var threadID: String
    public var assistantID: String
    public var graphID: String
    /// The user message the run submitted (nil for a resume, which continues `turnID`).
    public var inputMessageID: String?
    /// The turn the run continues (a resume), or nil until looked up by `inputMessageID`.
    public var turnID: String?
    /// The run covers the turn's events after this sequence.
    public var afterSequence: Int
    public var input: JSONValue
    public var command: JSONValue?
    public var metadata: JSONValue
    public var config: JSONValue
    public var context: JSONValue
    public var streamMode: [String]
    public var multitaskStrategy: String
    public var webhook: String?
    public var onCompletion: String?
    /// `cancel` (the default): a `/runs/stream` client that goes away cancels the run.
    public var onDisconnect: String?
    /// Set when the run was cancelled before its turn started (it never will).
    public var cancelledBeforeStart: Bool?

    enum CodingKeys: String, CodingKey {
        case threadID = "thread_id"
        case assistantID = "assistant_id"
        case graphID = "graph_id"
        case inputMessageID = "input_message_id"
        case turnID = "turn_id"
        case afterSequence = "after_sequence"
        case input, command, metadata, config, context
        case streamMode = "stream_mode"
        case multitaskStrategy = "multitask_strategy"
        case webhook
        case onCompletion = "on_completion"
        case onDisconnect = "on_disconnect"
        case cancelledBeforeStart = "cancelled_before_start"
    }
}

extension ProtocolRecord {
    func decoded<T: Decodable>(_ type: T.Type) throws -> T { try data.decode(type) }
}
