extension Duration {
    /// The duration in fractional seconds: the unit of timing fields (`time_to_first_token`),
    /// metrics and retry arithmetic.
    package var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, truncated toward zero (`duration_ms` fields).
    package var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
