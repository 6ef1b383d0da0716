/// The matching part of `grep_files` for one file: synchronous and CPU-bound, so it runs on
/// `BlockingWork`'s threads, polling the cancellation flag through the matcher.
struct GrepFileScan: Sendable {
    struct Hit: Sendable, Hashable {
        var line: Int
        var text: String
    }

    var hits: [Hit] = []
    var stepsUsed = 0
    /// Set when the scan stopped early: the step budget ran out (cancellation is thrown instead).
    var exhaustedSteps = false
    /// Set when `maxHits` lines matched and more lines remained.
    var reachedHitLimit = false

    /// Scans `content` line by line ("\n" ends a line, a trailing "\r" is dropped, so "\r\n" works).
    static func scan(
        _ content: String, regex: LinearRegex, maxHits: Int, stepBudget: Int, maxLineCharacters: Int,
        flag: CancellationFlag
    ) throws -> GrepFileScan {
        var scan = GrepFileScan()
        var matcher = LinearRegex.Matcher(regex, stepBudget: stepBudget) { flag.isRaised }
        var line: [UInt32] = []
        var lineNumber = 0

        /// Matches the buffered line; false when the scan must stop.
        func finishLine() throws -> Bool {
            lineNumber += 1
            if line.last == 0x0D { line.removeLast() }
            defer { line.removeAll(keepingCapacity: true) }
            do {
                guard try matcher.matches(line[...]) else { return true }
            } catch .stepBudget {
                scan.exhaustedSteps = true
                return false
            } catch .cancelled {
                throw CancellationError()
            }
            guard scan.hits.count < maxHits else {
                scan.reachedHitLimit = true
                return false
            }
            let shown = line.prefix(maxLineCharacters).compactMap(Unicode.Scalar.init)
            scan.hits.append(Hit(line: lineNumber, text: String(String.UnicodeScalarView(shown))))
            return true
        }

        scanning: do {
            for scalar in content.unicodeScalars {
                if scalar == "\n" {
                    guard try finishLine() else { break scanning }
                } else {
                    line.append(scalar.value)
                }
            }
            _ = try finishLine()
        }
        scan.stepsUsed = stepBudget - max(matcher.stepsRemaining, 0)
        return scan
    }
}
