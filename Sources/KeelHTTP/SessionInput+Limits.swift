import KeelCore
import KeelServices

/// Field sizes of session and message bodies, checked right after decoding.
extension SessionInput: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(agentID, "agent_id", max: InputLimits.idCharacters)
        try FieldLimit.characters(agentName, "agent_name", max: InputLimits.idCharacters)
        try FieldLimit.characters(harnessID, "harness_id", max: InputLimits.idCharacters)
        try FieldLimit.characters(harnessName, "harness_name", max: InputLimits.idCharacters)
        try FieldLimit.bytes(title, "title", max: InputLimits.titleBytes)
        try FieldLimit.characters(locale, "locale", max: InputLimits.localeCharacters)
        try FieldLimit.characters(modelID, "model_id", max: InputLimits.modelReferenceCharacters)
        try FieldLimit.bytes(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try FieldLimit.tags(tags)
        try FieldLimit.capabilities(capabilities)
        try FieldLimit.tools(tools)
    }
}

extension SessionPatch: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.bytes(title, "title", max: InputLimits.titleBytes)
        try FieldLimit.characters(locale, "locale", max: InputLimits.localeCharacters)
        try FieldLimit.tags(tags)
        try FieldLimit.characters(modelID, "model_id", max: InputLimits.modelReferenceCharacters)
    }
}

extension MessageInput: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(message.role, "message.role", max: InputLimits.roleCharacters)
        try FieldLimit.count(message.content, "message.content", max: InputLimits.contentParts)
        var textBytes = 0
        for (index, part) in message.content.enumerated() {
            let field = "message.content[\(index)]"
            switch part {
            case .text(let text):
                textBytes += text.utf8.count
            case .image(let url, _, let mediaType):
                // base64 data is bounded by the body size only: an image is as large as it is.
                try FieldLimit.characters(url, "\(field).url", max: InputLimits.imageURLCharacters)
                try FieldLimit.characters(mediaType, "\(field).media_type", max: InputLimits.mediaTypeCharacters)
            case .imageFile(let imageID, let filename):
                try FieldLimit.characters(imageID, "\(field).image_id", max: InputLimits.idCharacters)
                try FieldLimit.characters(filename, "\(field).filename", max: InputLimits.fileNameCharacters)
            case .toolCall, .toolResult:
                continue  // refused as user input by the route
            }
        }
        if textBytes > InputLimits.messageTextBytes {
            throw APIError.badRequest(
                "message text exceeds \(InputLimits.messageTextBytes) bytes (all text parts together)", code: "input_too_large")
        }
        try FieldLimit.jsonBytes(controls, "controls", max: InputLimits.controlsBytes)
        try FieldLimit.tags(tags)
    }
}
