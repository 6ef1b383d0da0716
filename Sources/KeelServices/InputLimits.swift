/// Every size limit on the resources' input, in one place: `docs/api-limits.md` lists the same
/// numbers and the OpenAPI document carries them as `maxLength`/`maxItems`. Text limits in
/// characters count Unicode scalars (what JSON Schema's `maxLength` counts); the large free-text
/// fields count UTF-8 bytes, since they bound storage and what is sent to a model. (The body size
/// and JSON nesting limits belong to the HTTP layer: `RequestDecoding`.)
public enum InputLimits {
    // Agents and sessions
    public static let agentNameCharacters = 64
    public static let displayNameBytes = 2 * 1024
    public static let titleBytes = 2 * 1024
    public static let descriptionBytes = 10 * 1024
    public static let systemPromptBytes = 1024 * 1024
    public static let localeCharacters = 35  // the longest well-formed BCP 47 tags in practice
    public static let modelReferenceCharacters = 200
    public static let idCharacters = 100  // agent/harness ids and names used as references
    public static let tags = 50
    public static let tagCharacters = 64
    public static let capabilities = 250
    public static let capabilityRefCharacters = 100
    public static let capabilityConfigBytes = 64 * 1024  // as compact JSON
    public static let tools = 128
    public static let toolNameCharacters = 64
    public static let toolTypeCharacters = 32
    public static let toolDescriptionBytes = 10 * 1024
    public static let toolParametersBytes = 64 * 1024  // as compact JSON
    public static let iterations = 1...1000

    // Messages
    public static let contentParts = 100
    public static let messageTextBytes = 1024 * 1024  // all text parts together
    public static let imageURLCharacters = 8 * 1024
    public static let mediaTypeCharacters = 100
    public static let fileNameCharacters = 255
    public static let controlsBytes = 64 * 1024  // as compact JSON
    public static let roleCharacters = 32

    // Providers
    public static let providerNameCharacters = 100
    public static let apiKeyBytes = 4096
    public static let baseURLBytes = 2048
    public static let providerModels = 200
    public static let providerModelCharacters = 200
}
