/// Sees every event right after it is stored. Observers feed traces, exports and metrics; they
/// must return at once (queue the work) and can never fail or slow the append.
public protocol EventObserver: Sendable {
    func observe(_ event: Event)
}
