import KeelCore

/// Small builders for the JSON Schema objects used as tool `parameters`.
///
/// Providers validate these schemas (OpenAI's strict mode in particular rejects schemas without
/// `type: object` or with stray keys), so every tool builds them the same way instead of writing
/// dictionary literals by hand.
enum JSONSchema {
    /// An object schema that forbids unknown properties.
    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        [
            "type": "object",
            "properties": .object(properties),
            "required": .array(required.map(JSONValue.string)),
            "additionalProperties": false,
        ]
    }

    static func string(_ description: String) -> JSONValue {
        ["type": "string", "description": .string(description)]
    }

    static func number(_ description: String) -> JSONValue {
        ["type": "number", "description": .string(description)]
    }

    static func enumeration(_ values: [String], _ description: String) -> JSONValue {
        ["type": "string", "enum": .array(values.map(JSONValue.string)), "description": .string(description)]
    }
}
