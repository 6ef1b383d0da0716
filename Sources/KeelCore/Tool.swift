import Foundation

/// A per-session virtual file system, reachable by tools.
public protocol SessionFileSystem: Sendable {
    func read(_ path: String) async throws -> String
    func write(_ path: String, content: String) async throws -> FileStat
    func list(_ path: String) async throws -> [FileStat]
    func delete(_ path: String) async throws
    func stat(_ path: String) async throws -> FileStat?
}

public struct FileStat: Codable, Sendable, Hashable {
    public var path: String
    public var isDirectory: Bool
    public var size: Int
    public var modifiedAt: Date

    enum CodingKeys: String, CodingKey {
        case path
        case isDirectory = "is_directory"
        case size
        case modifiedAt = "modified_at"
    }

    public init(path: String, isDirectory: Bool, size: Int, modifiedAt: Date) {
        self.path = path
        self.isDirectory = isDirectory
        self.size = size
        self.modifiedAt = modifiedAt
    }
}

/// What a tool can see of the session it runs in.
public struct ToolContext: Sendable {
    public var sessionID: String
    public var organizationID: String
    public var files: any SessionFileSystem

    public init(sessionID: String, organizationID: String, files: any SessionFileSystem) {
        self.sessionID = sessionID
        self.organizationID = organizationID
        self.files = files
    }
}

/// A failure the tool reports to the model (bad arguments, missing file, refused URL...).
public struct ToolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A server-side tool. Thrown errors and timeouts become error results fed back to the model.
///
/// Tools must honour task cancellation (the timeout and `/cancel` work by cancelling the call) and
/// must not hold a cooperative-pool thread with CPU-bound or blocking work (KeelCapabilities'
/// `BlockingWork` runs such work on its own threads and polls for cancellation). The loop reports
/// a timeout or cancel at once either way (`withDeadline`): a call that ignores cancellation is
/// abandoned after a short grace and its result dropped.
public protocol Tool: Sendable {
    var definition: ToolDefinition { get }
    /// Upper bound for one call; `nil` uses the runtime's default.
    var timeout: Duration? { get }
    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue
}

extension Tool {
    public var timeout: Duration? { nil }
}

/// A bundle of tools plus a system-prompt addition, referenced by agents as `{ref}`.
public struct Capability: Sendable {
    public var id: String
    public var name: String
    public var description: String
    public var category: String
    public var experimental: Bool
    public var systemPromptAddition: String?
    public var dependencies: [String]
    public var tools: [any Tool]

    public init(
        id: String, name: String, description: String, category: String, experimental: Bool = false,
        systemPromptAddition: String? = nil, dependencies: [String] = [], tools: [any Tool]
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.category = category
        self.experimental = experimental
        self.systemPromptAddition = systemPromptAddition
        self.dependencies = dependencies
        self.tools = tools
    }
}
