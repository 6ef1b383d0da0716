extension LinearRegex {
    /// Emits the Thompson construction of a `Node` tree, refusing programs over `maxProgramSize`
    /// (checked as it goes, so an explosive counted repetition stops early).
    struct Compiler {
        let caseInsensitive: Bool
        private(set) var program: [Instruction] = []
        private(set) var sets: [ScalarSet] = []

        init(caseInsensitive: Bool) { self.caseInsensitive = caseInsensitive }

        mutating func compile(_ node: Node) throws(LinearRegexError) {
            try emit(node)
            try append(.match)
        }

        private mutating func emit(_ node: Node) throws(LinearRegexError) {
            switch node {
            case .empty:
                break
            case .scalar(let scalar):
                try append(.scalar(caseInsensitive ? LinearRegex.fold(scalar.value) : scalar.value))
            case .any:
                try append(.any)
            case .set(let set):
                sets.append(set)
                try append(.set(sets.count - 1))
            case .assertion(let assertion):
                try append(.assert(assertion))
            case .concatenation(let nodes):
                for node in nodes { try emit(node) }
            case .alternation(let branches):
                try emitAlternation(branches)
            case .repetition(let node, let min, let max):
                for _ in 0..<min { try emit(node) }
                if let max {
                    for _ in min..<max { try emitOptional(node) }
                } else {
                    try emitStar(node)
                }
            }
        }

        /// Per branch but the last: `split(branch, next)`; branch; `jump(end)`. Iterative, so a
        /// pattern of many `|` does not recurse deeply.
        private mutating func emitAlternation(_ branches: [Node]) throws(LinearRegexError) {
            var jumpsToEnd: [Int] = []
            for (index, branch) in branches.enumerated() {
                guard index < branches.count - 1 else {
                    try emit(branch)
                    break
                }
                let split = try placeholder()
                try emit(branch)
                jumpsToEnd.append(try placeholder())
                program[split] = .split(split + 1, program.count)
            }
            for jump in jumpsToEnd { program[jump] = .jump(program.count) }
        }

        /// `split(body, end)`; body.
        private mutating func emitOptional(_ node: Node) throws(LinearRegexError) {
            let split = try placeholder()
            try emit(node)
            program[split] = .split(split + 1, program.count)
        }

        /// `L: split(body, end)`; body; `jump(L)`.
        private mutating func emitStar(_ node: Node) throws(LinearRegexError) {
            let split = try placeholder()
            try emit(node)
            try append(.jump(split))
            program[split] = .split(split + 1, program.count)
        }

        private mutating func placeholder() throws(LinearRegexError) -> Int {
            try append(.match)
            return program.count - 1
        }

        private mutating func append(_ instruction: Instruction) throws(LinearRegexError) {
            guard program.count < LinearRegex.maxProgramSize else {
                throw LinearRegexError(
                    "the pattern compiles to more than \(LinearRegex.maxProgramSize) states; use smaller repetition counts")
            }
            program.append(instruction)
        }
    }
}
