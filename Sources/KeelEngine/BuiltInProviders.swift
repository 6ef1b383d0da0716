import Foundation
import KeelCore

/// The providers every organization starts with. They hold no key of their own, so calls through
/// them use the `DEFAULT_*_API_KEY` fallbacks; `llmsim` needs none and makes the quickstart work.
public enum BuiltInProviders {
    public static func make(organizationID: String = BuiltIn.organizationID) -> [LLMProvider] {
        [
            LLMProvider(
                id: "provider_00000000000000000000000000000001", organizationID: organizationID, name: "Simulator",
                providerType: .llmsim, models: ["sim"], isBuiltIn: true),
            LLMProvider(
                id: "provider_00000000000000000000000000000002", organizationID: organizationID, name: "OpenAI",
                providerType: .openai, models: ["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"], isBuiltIn: true),
            LLMProvider(
                id: "provider_00000000000000000000000000000003", organizationID: organizationID, name: "Anthropic",
                providerType: .anthropic, models: ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"],
                isBuiltIn: true),
            LLMProvider(
                id: "provider_00000000000000000000000000000004", organizationID: organizationID, name: "Google Gemini",
                providerType: .gemini, models: ["gemini-2.5-flash", "gemini-2.5-pro"], isBuiltIn: true),
        ]
    }
}
