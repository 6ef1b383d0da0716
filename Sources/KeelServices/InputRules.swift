import KeelCore

/// Field rules shared by agent and session input (the numbers live in `InputLimits`).
enum InputRules {
    static func validateName(_ name: String) throws(ServiceError) {
        let max = InputLimits.agentNameCharacters
        let valid =
            !name.isEmpty && name.count <= max
            && name.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { part in
                !part.isEmpty && part.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
            }
        guard valid else {
            throw .invalid("name '\(name.prefix(80))' must match [a-z0-9]+(-[a-z0-9]+)* and be at most \(max) characters")
        }
    }

    static func validateSize(_ value: String?, _ field: String, max: Int) throws(ServiceError) {
        guard let value, value.utf8.count > max else { return }
        throw .invalid("\(field) exceeds \(max) bytes", code: "input_too_large")
    }

    static func validateIterations(_ value: Int?) throws(ServiceError) {
        let range = InputLimits.iterations
        guard let value, !range.contains(value) else { return }
        throw .invalid("max_iterations must be between \(range.lowerBound) and \(range.upperBound)")
    }

    static func validateTags(_ tags: [String]?) throws(ServiceError) {
        guard let tags else { return }
        let maxTags = InputLimits.tags
        guard tags.count <= maxTags, tags.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.count <= InputLimits.tagCharacters }) else {
            throw .invalid("tags: at most \(maxTags) non-empty tags of at most \(InputLimits.tagCharacters) characters")
        }
    }

    static func validateTools(_ tools: [ToolDefinition]?) throws(ServiceError) {
        guard let tools else { return }
        for tool in tools {
            guard ["builtin", "client_side", "client"].contains(tool.type) else {
                throw .invalid("tools: type must be builtin or client_side (got '\(tool.type)')")
            }
            guard !tool.name.isEmpty, tool.name.unicodeScalars.count <= InputLimits.toolNameCharacters else {
                throw .invalid("tools: name must be 1 to \(InputLimits.toolNameCharacters) characters")
            }
            do {
                _ = try ToolDefinition.approvalRequired(by: tool.policy)
            } catch {
                throw .invalid("tools: \(tool.name.prefix(64)): \(error.description)")
            }
        }
    }

    /// Only the generic harness exists: naming another one is a 404, a malformed id a 400.
    static func validateHarness(id: String?, name: String?) throws(ServiceError) {
        if id != nil && name != nil { throw .invalid("Specify harness_id or harness_name, not both") }
        if let id, id != BuiltIn.genericHarnessID {
            guard PublicID.isValid(id, prefix: .harness) else {
                throw .invalid("Invalid harness id '\(id)'", code: "invalid_id")
            }
            throw .notFound(kind: "harness", id: id)
        }
        if let name, name != BuiltIn.genericHarnessName {
            throw .notFound(kind: "harness", id: name)
        }
    }

    /// A reference to an agent by id must be a well-formed agent id.
    static func validateAgentID(_ id: String) throws(ServiceError) {
        guard PublicID.isValid(id, prefix: .agent) else {
            throw .invalid("Invalid agent id '\(id)'", code: "invalid_id")
        }
    }
}
