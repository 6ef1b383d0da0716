import KeelServices

/// Field sizes of agent bodies, checked right after decoding.
extension AgentInput: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(id, "id", max: InputLimits.idCharacters)
        try FieldLimit.characters(name, "name", max: InputLimits.agentNameCharacters)
        try FieldLimit.bytes(displayName, "display_name", max: InputLimits.displayNameBytes)
        try FieldLimit.bytes(description, "description", max: InputLimits.descriptionBytes)
        try FieldLimit.bytes(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try FieldLimit.characters(defaultModelID, "default_model_id", max: InputLimits.modelReferenceCharacters)
        try FieldLimit.characters(harnessID, "harness_id", max: InputLimits.idCharacters)
        try FieldLimit.characters(harnessName, "harness_name", max: InputLimits.idCharacters)
        try FieldLimit.tags(tags)
        try FieldLimit.capabilities(capabilities)
        try FieldLimit.tools(tools)
    }
}

extension AgentPatch: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(name, "name", max: InputLimits.agentNameCharacters)
        try FieldLimit.bytes(displayName, "display_name", max: InputLimits.displayNameBytes)
        try FieldLimit.bytes(description, "description", max: InputLimits.descriptionBytes)
        try FieldLimit.bytes(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try FieldLimit.characters(defaultModelID, "default_model_id", max: InputLimits.modelReferenceCharacters)
        try FieldLimit.tags(tags)
        try FieldLimit.capabilities(capabilities)
        try FieldLimit.tools(tools)
    }
}
