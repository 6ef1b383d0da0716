extension LinearRegex {
    /// Why a scan stopped before it finished.
    enum Interruption: Error, Sendable, Hashable {
        /// The step budget ran out.
        case stepBudget
        /// The caller gave up (tool timeout or turn cancel).
        case cancelled
    }

    /// Runs one `LinearRegex` over lines: a Thompson simulation that keeps the set of live NFA
    /// states per input position, so no state is visited twice at one position.
    ///
    /// Not `Sendable`: it owns scratch buffers reused across lines, and lives on one thread for the
    /// duration of a scan. Every state visited costs one step from `stepsRemaining`; cancellation
    /// is polled every `pollInterval` positions (and at every line).
    struct Matcher {
        static let pollInterval = 1_024

        let regex: LinearRegex
        private(set) var stepsRemaining: Int
        private let isCancelled: () -> Bool
        private var current: StateSet
        private var next: StateSet
        private var stack: [Int] = []
        private var sincePoll = 0

        init(_ regex: LinearRegex, stepBudget: Int, isCancelled: @escaping () -> Bool) {
            self.regex = regex
            self.stepsRemaining = stepBudget
            self.isCancelled = isCancelled
            current = StateSet(capacity: regex.program.count)
            next = StateSet(capacity: regex.program.count)
        }

        /// Whether the pattern matches anywhere in `line` (a line without its terminator).
        mutating func matches(_ line: ArraySlice<UInt32>) throws(Interruption) -> Bool {
            if isCancelled() { throw .cancelled }
            // The buffers are moved into locals so the loop can mutate them and `self` separately.
            var scratch = Scratch(current: current, next: next, stack: stack, stepsRemaining: stepsRemaining)
            defer {
                (current, next, stack, stepsRemaining) = (scratch.current, scratch.next, scratch.stack, scratch.stepsRemaining)
            }
            scratch.current.removeAll()
            var position = line.startIndex
            while true {
                if !regex.anchoredAtStart || position == line.startIndex {
                    if try scratch.addThread(0, at: position, of: line, in: regex, toNext: false) { return true }
                }
                guard position < line.endIndex else { return false }
                if scratch.current.isEmpty && regex.anchoredAtStart { return false }
                sincePoll += 1
                if sincePoll >= Self.pollInterval {
                    sincePoll = 0
                    if isCancelled() { throw .cancelled }
                }
                let scalar = line[position]
                let folded = regex.caseInsensitive ? LinearRegex.fold(scalar) : scalar
                scratch.next.removeAll()
                for index in 0..<scratch.current.count {
                    let pc = scratch.current[index]
                    let advances: Bool
                    switch regex.program[pc] {
                    case .scalar(let expected): advances = folded == expected
                    case .any: advances = true
                    case .set(let set): advances = contains(set, scalar)
                    default: advances = false
                    }
                    if advances, try scratch.addThread(pc + 1, at: position + 1, of: line, in: regex, toNext: true) {
                        return true
                    }
                }
                swap(&scratch.current, &scratch.next)
                position += 1
            }
        }

        private func contains(_ set: Int, _ scalar: UInt32) -> Bool {
            let set = regex.sets[set]
            if set.contains(scalar) { return true }
            guard regex.caseInsensitive else { return false }
            let lower = LinearRegex.fold(scalar)
            if lower != scalar, set.contains(lower) { return true }
            let upper = LinearRegex.upper(scalar)
            return upper != scalar && set.contains(upper)
        }

        static func holds(_ assertion: Assertion, at position: Int, of line: ArraySlice<UInt32>) -> Bool {
            switch assertion {
            case .lineStart: return position == line.startIndex
            case .lineEnd: return position == line.endIndex
            case .wordBoundary, .notWordBoundary:
                let before = position > line.startIndex && Shorthand.word.contains(line[position - 1])
                let after = position < line.endIndex && Shorthand.word.contains(line[position])
                return (before != after) == (assertion == .wordBoundary)
            }
        }
    }

    /// The mutable state of one `Matcher.matches` call.
    struct Scratch {
        var current: StateSet
        var next: StateSet
        var stack: [Int]
        var stepsRemaining: Int

        /// Adds `pc` and everything reachable from it without consuming input to the current or
        /// next state set; returns true when that reaches `match`.
        mutating func addThread(
            _ pc: Int, at position: Int, of line: ArraySlice<UInt32>, in regex: LinearRegex, toNext: Bool
        ) throws(Interruption) -> Bool {
            stack.removeAll(keepingCapacity: true)
            stack.append(pc)
            while let pc = stack.popLast() {
                guard !(toNext ? next.contains(pc) : current.contains(pc)) else { continue }
                stepsRemaining -= 1
                if stepsRemaining < 0 { throw .stepBudget }
                if toNext { next.insert(pc) } else { current.insert(pc) }
                switch regex.program[pc] {
                case .match: return true
                case .jump(let target): stack.append(target)
                case .split(let first, let second):
                    stack.append(second)
                    stack.append(first)
                case .assert(let assertion):
                    if Matcher.holds(assertion, at: position, of: line) { stack.append(pc + 1) }
                case .scalar, .any, .set: break
                }
            }
            return false
        }
    }

    /// A sparse set of program counters: O(1) insert, membership and clear, in insertion order.
    struct StateSet {
        private var dense: [Int]
        private var sparse: [Int]
        private(set) var count = 0

        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }

        var isEmpty: Bool { count == 0 }

        subscript(index: Int) -> Int { dense[index] }

        func contains(_ value: Int) -> Bool {
            let index = sparse[value]
            return index < count && dense[index] == value
        }

        mutating func insert(_ value: Int) {
            sparse[value] = count
            dense[count] = value
            count += 1
        }

        mutating func removeAll() { count = 0 }
    }
}
