import KeelCore
import Synchronization

/// Hands every session its own `InMemorySessionFileSystem`, created on first use.
///
/// Tools only ever see the file system of the session they run in (through
/// `ToolContext.files`), so isolation between sessions is exactly the isolation of the entries in
/// this registry. Deleting a session removes its entry (`TurnEngine.sessionDeleted`) so memory is returned.
public final class SessionFileSystems: Sendable {
    public let limits: FileSystemLimits
    private let systems = Mutex<[String: InMemorySessionFileSystem]>([:])

    public init(limits: FileSystemLimits = FileSystemLimits()) {
        self.limits = limits
    }

    /// The session's file system; repeated calls with the same id return the same instance.
    public func fileSystem(for sessionID: String) -> any SessionFileSystem {
        let limits = self.limits
        return systems.withLock { systems in
            if let existing = systems[sessionID] { return existing }
            let created = InMemorySessionFileSystem(limits: limits)
            systems[sessionID] = created
            return created
        }
    }

    /// Forgets the session's files; a later `fileSystem(for:)` starts empty.
    public func remove(sessionID: String) {
        _ = systems.withLock { $0.removeValue(forKey: sessionID) }
    }
}
