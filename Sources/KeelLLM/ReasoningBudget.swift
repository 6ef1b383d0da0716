/// Maps the provider-neutral `reasoningEffort` to a thinking budget in tokens, for the providers
/// whose knob is a budget (Anthropic, Gemini) rather than an effort level (OpenAI).
enum ReasoningBudget {
    /// The named levels, or a literal number of tokens; `nil` (no thinking) for "none" or no
    /// effort. 1024 is Anthropic's minimum budget.
    static func tokens(for effort: String?) -> Int? {
        guard let effort = effort?.lowercased(), !effort.isEmpty, effort != "none" else { return nil }
        switch effort {
        case "minimal", "low": return 1024
        case "medium": return 4096
        case "high": return 16384
        default: return Int(effort).map { max(1024, $0) } ?? 4096
        }
    }
}
