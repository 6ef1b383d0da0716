import Synchronization

/// The provider and model of each reason step whose context this control plane handed out, until
/// the step completes: how its outcome reaches the right breaker even when the turn (and with it
/// the stored plan, in DEV_MODE) is gone by then. A step completed through another instance is not
/// counted there; entries of steps that never complete are dropped once `capacity` is reached.
final class ProviderCallRegistry: Sendable {
    struct Call: Sendable, Hashable {
        var provider: ProviderCircuitBreakers.ProviderCall
        var breakerWasQuiet: Bool
    }

    static let capacity = 10_000
    private let calls = Mutex<[String: Call]>([:])

    func started(taskID: String, _ call: Call) {
        calls.withLock { calls in
            if calls.count >= Self.capacity { calls.removeAll(keepingCapacity: true) }
            calls[taskID] = call
        }
    }

    func finished(taskID: String) -> Call? {
        calls.withLock { $0.removeValue(forKey: taskID) }
    }
}
