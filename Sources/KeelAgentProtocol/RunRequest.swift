import KeelCore
import KeelServices

/// A run-creating request body (`POST …/runs`, `/runs/stream`, `/runs/wait`), validated: every
/// violation is a 422 naming the field.
struct RunRequest: Sendable {
    var assistantID: String
    var input: JSONValue
    /// The user message of `input`, validated with the rest of the request (nil for a resume), so
    /// a bad input is refused before any thread is created or changed.
    var message: Message?
    /// `command.resume`: continues an interrupted thread instead of sending input.
    var resume: JSONValue?
    var metadata: JSONValue
    var config: JSONValue
    var context: JSONValue
    var streamMode: [String]
    var multitaskStrategy: String
    var webhook: String?
    var onCompletion: String?
    var ifNotExists: String
    var onDisconnect: String
    /// `interrupt_before: ["tools"]` / `interrupt_after: ["agent"]`: hold every tool call for approval.
    var interrupts: Bool

    init(_ body: JSONValue, stateless: Bool, webhookPolicy: (@Sendable (String) async -> String?)?) async throws {
        let request = try ProtocolBody(body, name: "run")
        assistantID = try request.requiredString("assistant_id", maxBytes: ProtocolIDs.maxLength)
        let input = request.present("input")
        let command = try request.object("command", maxBytes: LangChainMessages.maxInputBytes)
        if let command {
            for key in command.objectValue?.keys.sorted() ?? [] where key != "resume" {
                throw AgentProtocolError.invalid("command.\(key) is not supported; use command.resume")
            }
        }
        let hasInput = input.map { $0 != [:] } ?? false
        if hasInput && command != nil {
            throw AgentProtocolError.invalid("Cannot specify both input and command")
        }
        resume = command?["resume"]
        if command != nil, resume == nil { throw AgentProtocolError.invalid("command.resume is required") }
        if !hasInput, resume == nil { throw AgentProtocolError.invalid("input or command is required") }
        self.input = input ?? [:]
        if hasInput, input?.objectValue == nil { throw AgentProtocolError.invalid("input must be an object") }
        // The input is kept with the run: its text (bounded below) plus at most an object's worth of the rest.
        if let input, input.jsonString.utf8.count > LangChainMessages.maxInputBytes + ProtocolBody.maxObjectBytes {
            throw AgentProtocolError.invalid("input exceeds \(LangChainMessages.maxInputBytes + ProtocolBody.maxObjectBytes) bytes of JSON")
        }
        if resume != nil, stateless {
            throw AgentProtocolError.invalid("command.resume needs the thread that was interrupted; a stateless run has none")
        }
        message = resume == nil ? try LangChainMessages.userMessage(fromInput: self.input) : nil
        metadata = try request.object("metadata") ?? [:]
        try RunMetadata.validate(metadata)
        config = try request.object("config") ?? [:]
        if let configurable = config["configurable"], configurable != .null, configurable.objectValue == nil {
            throw AgentProtocolError.invalid("config.configurable must be an object")
        }
        context = try request.object("context") ?? [:]
        streamMode = try request.stringList("stream_mode") ?? ["values"]
        for mode in streamMode where !RunProjector.knownModes.contains(mode) {
            throw AgentProtocolError.invalid(
                "stream_mode '\(mode.prefix(40))' is not one of \(RunProjector.knownModes.sorted().joined(separator: ", "))")
        }
        multitaskStrategy = try request.choice(
            "multitask_strategy", ["reject", "enqueue", "interrupt", "rollback"], default: "reject")
        ifNotExists = try request.choice("if_not_exists", ["reject", "create"], default: "reject")
        onDisconnect = try request.choice("on_disconnect", ["cancel", "continue"], default: "cancel")
        onCompletion = stateless ? try request.choice("on_completion", ["delete", "keep"], default: "delete") : nil
        let before = try request.stringList("interrupt_before") ?? []
        let after = try request.stringList("interrupt_after") ?? []
        for node in before where !AgentProtocolService.interruptBeforeNodes.contains(node) {
            throw AgentProtocolError.invalid(
                "interrupt_before: node '\(node.prefix(40))' cannot be interrupted before (use \"tools\" or \"*\")")
        }
        for node in after where !AgentProtocolService.interruptAfterNodes.contains(node) {
            throw AgentProtocolError.invalid(
                "interrupt_after: node '\(node.prefix(40))' cannot be interrupted after (use \"agent\" or \"*\")")
        }
        interrupts = !before.isEmpty || !after.isEmpty
        webhook = try request.string("webhook", maxBytes: AgentProtocolService.maxWebhookBytes)
        if let webhook {
            guard webhook.hasPrefix("http://") || webhook.hasPrefix("https://") else {
                throw AgentProtocolError.invalid("webhook must be an http or https URL")
            }
            if let refusal = await webhookPolicy?(webhook) {
                throw AgentProtocolError.invalid("webhook is not allowed: \(refusal.prefix(300))")
            }
        }
    }
}
