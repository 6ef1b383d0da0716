extension Duration {
    /// The duration in (fractional) seconds, the unit `LLMResponse.timeToFirstToken` uses.
    var inSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
