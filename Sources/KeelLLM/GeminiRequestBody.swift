import KeelCore

/// Builds the `streamGenerateContent` request body from the provider-neutral request.
enum GeminiRequestBody {
    static func make(for request: LLMRequest) -> JSONValue {
        var body: [String: JSONValue] = ["contents": .array(contents(for: request.messages))]
        let system = ([request.systemPrompt] + request.messages.filter { $0.role == .system }.map(\.text))
            .filter { !$0.isEmpty }.joined(separator: "\n\n")
        if !system.isEmpty {
            body["systemInstruction"] = ["parts": [["text": .string(system)]]]
        }
        if !request.tools.isEmpty {
            body["tools"] = [
                [
                    "functionDeclarations": .array(
                        request.tools.map { tool in
                            [
                                "name": .string(tool.name), "description": .string(tool.description),
                                "parameters": GeminiSchema.sanitize(tool.parameters),
                            ]
                        })
                ]
            ]
        }
        var generation: [String: JSONValue] = [:]
        if let maxOutputTokens = request.maxOutputTokens {
            generation["maxOutputTokens"] = JSONValue(maxOutputTokens)
        }
        if let budget = ReasoningBudget.tokens(for: request.reasoningEffort) {
            // Without includeThoughts the model thinks but the stream carries no thought parts.
            generation["thinkingConfig"] = ["includeThoughts": true, "thinkingBudget": JSONValue(budget)]
        }
        if !generation.isEmpty { body["generationConfig"] = .object(generation) }
        return .object(body)
    }

    static func contents(for messages: [Message]) -> [JSONValue] {
        var turns: [(role: String, parts: [JSONValue])] = []
        // Gemini answers a function call by *name*; our history links results to calls by id.
        var namesByCallID: [String: String] = [:]
        for message in messages {
            let role: String
            switch message.role {
            case .system: continue  // folded into systemInstruction
            case .user, .toolResult: role = "user"
            case .agent: role = "model"
            }
            for call in message.toolCalls { namesByCallID[call.id] = call.name }
            let parts = message.content.compactMap { part(for: $0, names: namesByCallID) }
            guard !parts.isEmpty else { continue }
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].parts += parts
            } else {
                turns.append((role, parts))
            }
        }
        return turns.map { ["role": .string($0.role), "parts": .array($0.parts)] }
    }

    private static func part(for content: ContentPart, names: [String: String]) -> JSONValue? {
        switch content {
        case .text(let text):
            return text.isEmpty ? nil : ["text": .string(text)]
        case .image(let url, let base64, let mediaType):
            let mimeType = JSONValue.string(mediaType ?? "image/png")
            if let base64 { return ["inlineData": ["mimeType": mimeType, "data": .string(base64)]] }
            return url.map { ["fileData": ["mimeType": mimeType, "fileUri": .string($0)]] }
        case .imageFile(let imageID, let filename):
            return ["text": .string(ToolCallText.imageFilePlaceholder(imageID: imageID, filename: filename))]
        case .toolCall(let call):
            var part: JSONValue = ["functionCall": ["name": .string(call.name), "args": call.arguments]]
            // Gemini wants the call's thought signature back verbatim (a 400 on Gemini 3 without it).
            if let signature = call.signature, case .object(var fields) = part {
                fields["thoughtSignature"] = .string(signature)
                part = .object(fields)
            }
            return part
        case .toolResult(let callID, let result, let error):
            return ["functionResponse": ["name": .string(names[callID] ?? callID), "response": response(result, error: error)]]
        }
    }

    /// `functionResponse.response` must be an object: objects pass through, anything else is
    /// wrapped as `result`, failures as `error`.
    private static func response(_ result: JSONValue?, error: String?) -> JSONValue {
        if let error { return ["error": .string(error)] }
        if let result, case .object = result { return result }
        return ["result": result ?? .null]
    }
}
