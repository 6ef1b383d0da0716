import Foundation

/// A message refused because its session already has the maximum number of messages waiting
/// behind the running turn (`MAX_QUEUED_MESSAGES_PER_SESSION`). Nothing was recorded for it.
public struct QueuedMessageLimitExceeded: Error, Sendable, Hashable {
    public let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }
}
