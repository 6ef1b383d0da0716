import Foundation

/// A `TurnPlan` in a form that travels to a worker: tools are named by capability (the worker
/// builds them from its own catalog) and the provider key arrives decrypted by the server.
/// It is a secret-bearing value: never log it.
public struct TurnSpec: Codable, Sendable {
    public var sessionID: String
    public var organizationID: String
    public var agentID: String?
    public var agentName: String?
    public var turnID: String
    public var inputMessageID: String
    public var model: String
    public var modelReference: String
    public var providerID: String?
    public var providerType: ProviderType
    public var apiKey: String?
    public var baseURL: String?
    public var systemPrompt: String
    public var capabilityRefs: [String]
    public var maxIterations: Int
    public var parallelToolCalls: Bool
    public var toolTimeoutMS: Int
    public var deltaBatchIntervalMS: Int
    public var reasoningEffort: String?
    /// The client-side tools offered to the model (absent in specs stored before they existed).
    public var clientTools: [ToolDefinition]?
    public var askUser: Bool?
    public var approvalRule: ToolApprovalRule?
    /// Set when the model reference could not be resolved: the first reason step fails cleanly.
    public var unresolvedModel: Bool

    public init(plan: TurnPlan, organizationID: String, capabilityRefs: [String], unresolvedModel: Bool) {
        sessionID = plan.sessionID
        self.organizationID = organizationID
        agentID = plan.agentID
        agentName = plan.agentName
        turnID = plan.turnID
        inputMessageID = plan.inputMessageID
        model = plan.model
        modelReference = plan.modelReference
        providerID = plan.providerID
        providerType = plan.endpoint.providerType
        apiKey = plan.endpoint.apiKey
        baseURL = plan.endpoint.baseURL
        systemPrompt = plan.systemPrompt
        self.capabilityRefs = capabilityRefs
        maxIterations = plan.maxIterations
        parallelToolCalls = plan.parallelToolCalls
        toolTimeoutMS = plan.toolTimeout.wholeMilliseconds
        deltaBatchIntervalMS = plan.deltaBatchInterval.wholeMilliseconds
        reasoningEffort = plan.reasoningEffort
        clientTools = plan.clientTools.isEmpty ? nil : plan.clientTools
        askUser = plan.askUser ? true : nil
        approvalRule = plan.approvalRule.isEmpty ? nil : plan.approvalRule
        self.unresolvedModel = unresolvedModel
    }

    /// The plan, with the tools the worker resolved from `capabilityRefs`.
    public func plan(tools: [any Tool]) -> TurnPlan {
        TurnPlan(
            sessionID: sessionID, agentID: agentID, agentName: agentName, turnID: turnID,
            inputMessageID: inputMessageID, model: model, modelReference: modelReference, providerID: providerID,
            endpoint: LLMEndpoint(providerType: providerType, apiKey: apiKey, baseURL: baseURL),
            systemPrompt: systemPrompt, tools: tools, maxIterations: maxIterations,
            parallelToolCalls: parallelToolCalls, toolTimeout: .milliseconds(toolTimeoutMS),
            deltaBatchInterval: .milliseconds(deltaBatchIntervalMS), reasoningEffort: reasoningEffort,
            clientTools: clientTools ?? [], askUser: askUser ?? false, approvalRule: approvalRule ?? ToolApprovalRule())
    }
}
