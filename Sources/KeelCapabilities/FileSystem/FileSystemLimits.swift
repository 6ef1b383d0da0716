/// Resource limits of one session's in-memory file system.
///
/// The file system lives in server memory and is written by a model, so every dimension that a
/// runaway loop could grow is capped; exceeding a limit fails the single write with a message the
/// model can act on instead of exhausting the server.
public struct FileSystemLimits: Sendable, Hashable {
    /// Largest single file, in UTF-8 bytes.
    public var maxFileBytes: Int
    /// Largest sum of all file sizes in one session, in UTF-8 bytes.
    public var maxTotalBytes: Int
    /// Most files one session may hold (directories are implicit and not counted).
    public var maxFiles: Int

    public init(maxFileBytes: Int = 1 << 20, maxTotalBytes: Int = 10 << 20, maxFiles: Int = 1000) {
        self.maxFileBytes = maxFileBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxFiles = maxFiles
    }
}
