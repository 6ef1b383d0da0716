import Foundation

/// The `ask_user` capability's tool: the model asks the user one or more questions (with optional
/// choices) and the turn waits for the answers (`POST /v1/sessions/{id}/question-answers`), which
/// become the call's result. The arguments come from the model and are checked like any
/// attacker-controlled input: a malformed question set is an error result, never a wait.
public enum AskUser {
    public static let capabilityID = "ask_user"
    public static let toolName = "ask_user"

    /// At most this many questions per call.
    public static let maxQuestions = 10
    /// Longest question, in bytes.
    public static let maxQuestionBytes = 2_000
    /// At most this many choices per question.
    public static let maxChoices = 20
    /// Longest choice, in bytes.
    public static let maxChoiceBytes = 500

    public static var definition: ToolDefinition {
        ToolDefinition(
            type: "builtin", name: toolName,
            description:
                "Ask the user one or more questions and wait for the answers. Use it only when you need information or a decision that only the user can give.",
            parameters: [
                "type": "object",
                "properties": [
                    "questions": [
                        "type": "array", "minItems": 1, "maxItems": .number(Double(maxQuestions)),
                        "items": [
                            "type": "object",
                            "properties": [
                                "question": ["type": "string", "description": "The question, as the user will read it."],
                                "choices": [
                                    "type": "array", "items": ["type": "string"],
                                    "description": "Optional answers to pick from.",
                                ],
                            ],
                            "required": ["question"],
                        ],
                    ]
                ],
                "required": ["questions"],
            ])
    }

    /// The question set of a call's arguments, or the reason it is not one (for the model).
    public static func questions(from arguments: JSONValue) throws(ToolError) -> [UserQuestion] {
        guard let items = arguments["questions"]?.arrayValue, !items.isEmpty else {
            throw ToolError("ask_user needs a non-empty 'questions' array")
        }
        guard items.count <= maxQuestions else { throw ToolError("ask_user takes at most \(maxQuestions) questions") }
        return try items.map { item throws(ToolError) in
            guard let text = item["question"]?.stringValue, !text.isEmpty, text.utf8.count <= maxQuestionBytes else {
                throw ToolError("each question needs a 'question' string of 1 to \(maxQuestionBytes) bytes")
            }
            var choices: [String]?
            if let given = item["choices"], given != .null {
                guard let list = given.arrayValue, list.count <= maxChoices else {
                    throw ToolError("'choices' must be an array of at most \(maxChoices) strings")
                }
                choices = try list.map { choice throws(ToolError) in
                    guard let choice = choice.stringValue, !choice.isEmpty, choice.utf8.count <= maxChoiceBytes else {
                        throw ToolError("each choice must be a string of 1 to \(maxChoiceBytes) bytes")
                    }
                    return choice
                }
            }
            return UserQuestion(question: text, choices: choices)
        }
    }

    /// The call's result the model reads: each question with its answer, in order.
    public static func result(questions: [UserQuestion], answers: [String]) -> JSONValue {
        .object([
            "answers": .array(
                zip(questions, answers).map { question, answer in
                    ["question": .string(question.question), "answer": .string(answer)]
                })
        ])
    }
}

/// One question of an `ask_user` call.
public struct UserQuestion: Codable, Sendable, Hashable {
    public var question: String
    public var choices: [String]?

    public init(question: String, choices: [String]? = nil) {
        self.question = question
        self.choices = choices
    }
}
