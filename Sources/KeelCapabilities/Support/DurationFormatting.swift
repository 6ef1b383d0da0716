/// Human-readable durations for error messages such as "timed out after 10s".
extension Duration {
    /// Whole seconds when the duration is a whole number of seconds, else milliseconds.
    var shortDescription: String {
        let (seconds, attoseconds) = components
        if attoseconds == 0 { return "\(seconds)s" }
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return "\(milliseconds)ms"
    }
}
