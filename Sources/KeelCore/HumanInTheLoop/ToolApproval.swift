import Foundation

/// Which tool calls wait for a person's approval before they run: the tools named by a
/// `tool_approval` capability (`config.tools`, `"*"` or no list for every tool) and tool
/// definitions whose `policy` asks for it.
public struct ToolApprovalRule: Codable, Sendable, Hashable {
    public static let capabilityID = "tool_approval"
    /// At most this many tool names in a `tool_approval` configuration.
    public static let maxNames = 256

    /// Every tool needs approval.
    public var all: Bool
    public var names: Set<String>

    public init(all: Bool = false, names: Set<String> = []) {
        self.all = all
        self.names = names
    }

    public var isEmpty: Bool { !all && names.isEmpty }

    public func covers(_ toolName: String) -> Bool { all || names.contains(toolName) }

    /// The rule of capability references and tool definitions (an agent's and a session's).
    public init(capabilities: [CapabilityRef], tools: [ToolDefinition]) {
        self.init()
        for capability in capabilities where capability.ref == Self.capabilityID {
            // Validated on input; an unreadable stored list asks approval for everything.
            guard let list = try? Self.toolNames(in: capability.config) else {
                all = true
                continue
            }
            if list.contains("*") { all = true } else { names.formUnion(list) }
        }
        for tool in tools where tool.requiresApproval { names.insert(tool.name) }
    }

    /// The tool names of a `tool_approval` configuration; `["*"]` when it names none.
    public static func toolNames(in config: JSONValue?) throws(ToolPolicyError) -> [String] {
        guard let config, config != .null, let given = config["tools"], given != .null else { return ["*"] }
        guard let list = given.arrayValue, list.count <= maxNames else {
            throw ToolPolicyError("tool_approval: config.tools must be an array of at most \(maxNames) tool names")
        }
        return try list.map { name throws(ToolPolicyError) in
            guard let name = name.stringValue, !name.isEmpty else {
                throw ToolPolicyError("tool_approval: config.tools must hold non-empty tool names")
            }
            return name
        }
    }
}

/// A tool definition's `policy` or a `tool_approval` configuration is not one Keel understands.
public struct ToolPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ToolDefinition {
    /// The `policy` values a definition may carry: absent, `"auto"`, `"requires_approval"` or
    /// `{"requires_approval": <bool>}`.
    public static func approvalRequired(by policy: JSONValue?) throws(ToolPolicyError) -> Bool {
        switch policy {
        case nil, .null?, .string("auto")?: return false
        case .string("requires_approval")?: return true
        case .object(let fields)? where fields.count == 1:
            if case .bool(let required)? = fields["requires_approval"] { return required }
        default: break
        }
        throw ToolPolicyError(#"policy must be "auto", "requires_approval" or {"requires_approval": true|false}"#)
    }

    /// Whether the definition's `policy` holds its calls for approval (an unreadable policy does:
    /// input is validated, so only a stored one could be, and holding is the safe side).
    public var requiresApproval: Bool { (try? Self.approvalRequired(by: policy)) ?? true }
}

/// `"approval:<call id>"`: the checkpoint key under which an approval of a call is recorded
/// beside the call's result, so a resumed act step knows the call may run.
public enum ApprovalCheckpoint {
    public static func key(_ toolCallID: String) -> String { "approval:" + toolCallID }
}
