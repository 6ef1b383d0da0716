import Foundation

extension Duration {
    /// The one way durations appear in user-visible text ("timed out after 10s", a tool's
    /// description): whole milliseconds below a second ("300ms"), whole seconds when whole
    /// ("10s"), else seconds with up to three decimals ("1.5s", "2.25s").
    ///
    /// Seconds rather than milliseconds because every time limit is configured in seconds
    /// (`TOOL_TIMEOUT_SECS`, …) and the docs quote it that way (docs/python-sandbox.md).
    package var shortDescription: String {
        let milliseconds = Int((inSeconds * 1000).rounded())
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        var text = String(format: "%.3f", Double(milliseconds) / 1000)
        while text.hasSuffix("0") { text.removeLast() }
        return text + "s"
    }
}
