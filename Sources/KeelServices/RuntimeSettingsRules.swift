import KeelCore
import KeelEngine

/// The rules agents and sessions share for what shapes a turn: prompt, iteration cap, tags,
/// tools, capabilities (known to the catalogue) and model (served by an active provider).
public struct RuntimeSettingsRules: Sendable {
    let capabilities: CapabilityDirectory
    let models: ModelResolver

    public init(capabilities: CapabilityDirectory, models: ModelResolver) {
        self.capabilities = capabilities
        self.models = models
    }

    func validate(
        systemPrompt: String?, maxIterations: Int?, tags: [String]?, tools: [ToolDefinition]?,
        capabilities refs: [CapabilityRefInput]?, modelID: String?, organizationID: String
    ) async throws {
        try InputRules.validateSize(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try InputRules.validateIterations(maxIterations)
        try InputRules.validateTags(tags)
        try InputRules.validateTools(tools)
        try validateCapabilities(refs)
        try await validateModel(modelID, organizationID: organizationID)
    }

    func validateCapabilities(_ refs: [CapabilityRefInput]?) throws(ServiceError) {
        guard let refs else { return }
        guard refs.count <= InputLimits.capabilities else {
            throw .invalid("At most \(InputLimits.capabilities) capabilities", code: "input_too_large")
        }
        do {
            _ = try capabilities.resolve(refs.map(\.value.ref))
        } catch {
            throw .invalid("\(error)", code: "unknown_capability")
        }
        for ref in refs where ref.value.ref == ToolApprovalRule.capabilityID {
            do {
                _ = try ToolApprovalRule.toolNames(in: ref.value.config)
            } catch {
                throw .invalid(error.description, code: "invalid_capability_config")
            }
        }
    }

    /// A model reference, when given, must resolve to an active provider of the organization.
    public func validateModel(_ reference: String?, organizationID: String) async throws {
        guard let reference else { return }
        guard try await models.resolve(reference, organizationID: organizationID) != nil else {
            throw ServiceError.modelNotFound(reference: reference)
        }
    }
}
