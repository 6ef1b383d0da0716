import KeelCore

/// Adapts a tool's JSON Schema to the OpenAPI subset Gemini's `parameters` accepts.
///
/// Gemini rejects the whole request on a key it does not know ("Invalid JSON payload received.
/// Unknown name ..."), and real tool schemas routinely carry `$schema` or
/// `additionalProperties`. Unknown keys are dropped and `"type": [T, "null"]` becomes
/// `"type": T, "nullable": true`.
enum GeminiSchema {
    private static let allowedKeys: Set<String> = [
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
        "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
        "propertyOrdering", "default", "items", "minimum", "maximum",
    ]

    static func sanitize(_ schema: JSONValue) -> JSONValue {
        guard case .object(let object) = schema else { return schema }
        var result: [String: JSONValue] = [:]
        for (key, value) in object where allowedKeys.contains(key) {
            switch key {
            case "properties":
                result[key] = .object((value.objectValue ?? [:]).mapValues(sanitize))
            case "items":
                result[key] = sanitize(value)
            case "anyOf":
                result[key] = .array((value.arrayValue ?? []).map(sanitize))
            case "type":
                if let types = value.arrayValue?.compactMap(\.stringValue) {
                    let concrete = types.filter { $0 != "null" }
                    if let first = concrete.first { result["type"] = .string(first) }
                    if types.contains("null") { result["nullable"] = true }
                } else {
                    result[key] = value
                }
            default:
                result[key] = value
            }
        }
        return .object(result)
    }
}
