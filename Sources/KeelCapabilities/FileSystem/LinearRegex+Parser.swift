extension LinearRegex {
    /// Recursive-descent parser of the supported subset into a `Node` tree.
    struct Parser {
        private let scalars: [Unicode.Scalar]
        private var position = 0
        private var depth = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        mutating func parse() throws(LinearRegexError) -> Node {
            let node = try parseAlternation()
            if let extra = peek {
                // Only an unbalanced ')' stops the top-level alternation early.
                throw LinearRegexError("unbalanced '\(extra)' at offset \(position)")
            }
            return node
        }

        // MARK: Grammar

        private mutating func parseAlternation() throws(LinearRegexError) -> Node {
            var branches = [try parseConcatenation()]
            while peek == "|" {
                position += 1
                branches.append(try parseConcatenation())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseConcatenation() throws(LinearRegexError) -> Node {
            var items: [Node] = []
            while let next = peek, next != "|", next != ")" {
                let atom = try parseAtom()
                items.append(try parseQuantifiers(of: atom))
            }
            switch items.count {
            case 0: return .empty
            case 1: return items[0]
            default: return .concatenation(items)
            }
        }

        private mutating func parseQuantifiers(of atom: Node) throws(LinearRegexError) -> Node {
            guard let (min, max) = try parseQuantifier() else { return atom }
            if peek == "?" {
                position += 1  // lazy: the same lines match, so it is accepted as is
            } else if peek == "+" {
                throw LinearRegexError("possessive quantifiers (such as '*+') are not supported")
            }
            if try parseQuantifier() != nil {
                throw LinearRegexError("nested quantifier at offset \(position - 1); wrap the repeated part in a group")
            }
            return .repetition(atom, min: min, max: max)
        }

        /// A quantifier at the current position, or nil. A `{` that does not form `{m}`, `{m,}`,
        /// `{m,n}` or `{,n}` is a literal, as in most engines.
        private mutating func parseQuantifier() throws(LinearRegexError) -> (Int, Int?)? {
            switch peek {
            case "*": position += 1; return (0, nil)
            case "+": position += 1; return (1, nil)
            case "?": position += 1; return (0, 1)
            case "{":
                let start = position
                position += 1
                let low = readNumber()
                var high = low
                var unbounded = false
                if peek == "," {
                    position += 1
                    high = readNumber()
                    unbounded = high == nil
                }
                guard peek == "}", low != nil || high != nil else {
                    position = start
                    return nil
                }
                position += 1
                let min = low ?? 0
                let max = unbounded ? nil : high
                if min > LinearRegex.maxRepetition || (max ?? 0) > LinearRegex.maxRepetition {
                    throw LinearRegexError("repetition counts are limited to \(LinearRegex.maxRepetition)")
                }
                if let max, max < min { throw LinearRegexError("repetition {\(min),\(max)} has its bounds reversed") }
                return (min, max)
            default:
                return nil
            }
        }

        private mutating func readNumber() -> Int? {
            var value: Int?
            while let next = peek, ("0"..."9").contains(next) {
                // Saturates just above the limit, so huge counts are refused rather than overflowing.
                value = min((value ?? 0) * 10 + Int(next.value - 0x30), LinearRegex.maxRepetition + 1)
                position += 1
            }
            return value
        }

        private mutating func parseAtom() throws(LinearRegexError) -> Node {
            guard let next = take() else { throw LinearRegexError("unexpected end of pattern") }
            switch next {
            case "(": return try parseGroup()
            case "[": return .set(try parseClass())
            case ".": return .any
            case "^": return .assertion(.lineStart)
            case "$": return .assertion(.lineEnd)
            case "\\": return try parseEscape()
            case "*", "+", "?":
                throw LinearRegexError("'\(next)' at offset \(position - 1) has nothing to repeat")
            case "{":
                position -= 1
                if try parseQuantifier() != nil {
                    throw LinearRegexError("'{' at offset \(position) has nothing to repeat")
                }
                position += 1
                return .scalar(next)
            default: return .scalar(next)
            }
        }

        private mutating func parseGroup() throws(LinearRegexError) -> Node {
            let opening = position - 1
            if peek == "?" {
                position += 1
                try parseGroupPrefix()
            }
            depth += 1
            guard depth <= LinearRegex.maxNesting else {
                throw LinearRegexError("groups are nested deeper than \(LinearRegex.maxNesting) levels")
            }
            let inner = try parseAlternation()
            depth -= 1
            guard take() == ")" else { throw LinearRegexError("missing ')' for the group opened at offset \(opening)") }
            return inner
        }

        /// After `(?`: accepts `:` and named groups, refuses everything else by name.
        private mutating func parseGroupPrefix() throws(LinearRegexError) {
            switch take() {
            case ":": return
            case "=", "!": throw LinearRegexError("lookahead ('(?=' and '(?!') is not supported")
            case ">": throw LinearRegexError("atomic groups ('(?>') are not supported")
            case "<" where peek == "=" || peek == "!":
                throw LinearRegexError("lookbehind ('(?<=' and '(?<!') is not supported")
            case "<": try skipName(until: ">")
            case "P" where peek == "<":
                position += 1
                try skipName(until: ">")
            case "P": throw LinearRegexError("backreferences are not supported")
            case "'": try skipName(until: "'")
            default:
                throw LinearRegexError("inline flags and '(?' forms other than '(?:', named groups and a leading '(?i)' are not supported")
            }
        }

        private mutating func skipName(until terminator: Unicode.Scalar) throws(LinearRegexError) {
            while let next = take() {
                if next == terminator { return }
                guard next.properties.isAlphabetic || next.properties.numericType != nil || next == "_" else { break }
            }
            throw LinearRegexError("malformed group name")
        }

        private mutating func parseEscape() throws(LinearRegexError) -> Node {
            guard let next = take() else { throw LinearRegexError("the pattern ends with a lone '\\'") }
            switch next {
            case "b": return .assertion(.wordBoundary)
            case "B": return .assertion(.notWordBoundary)
            case "A": return .assertion(.lineStart)
            case "z", "Z": return .assertion(.lineEnd)
            default:
                switch try parseEscapedMember(next) {
                case .scalar(let scalar): return .scalar(scalar)
                case .shorthand(let shorthand, let negated): return .set(ScalarSet(shorthand, negated: negated))
                }
            }
        }

        enum EscapedMember {
            case scalar(Unicode.Scalar)
            case shorthand(Shorthand, negated: Bool)
        }

        /// An escape valid both inside and outside classes (`next` is the scalar after `\`).
        private mutating func parseEscapedMember(_ next: Unicode.Scalar) throws(LinearRegexError) -> EscapedMember {
            switch next {
            case "d": return .shorthand(.digit, negated: false)
            case "D": return .shorthand(.digit, negated: true)
            case "w": return .shorthand(.word, negated: false)
            case "W": return .shorthand(.word, negated: true)
            case "s": return .shorthand(.space, negated: false)
            case "S": return .shorthand(.space, negated: true)
            case "t": return .scalar("\t")
            case "n": return .scalar("\n")
            case "r": return .scalar("\r")
            case "f": return .scalar("\u{0C}")
            case "v": return .scalar("\u{0B}")
            case "e": return .scalar("\u{1B}")
            case "0": return .scalar("\0")
            case "x", "u": return .scalar(try parseHexEscape(fixedDigits: next == "x" ? 2 : 4))
            case "1"..."9", "k", "g":
                throw LinearRegexError("backreferences ('\\\(next)') are not supported")
            case "p", "P": throw LinearRegexError("Unicode property classes ('\\\(next){…}') are not supported")
            case "Q": throw LinearRegexError("quoting with '\\Q…\\E' is not supported; escape each character instead")
            default:
                if next.isASCII, next.properties.isAlphabetic || next.properties.numericType != nil {
                    throw LinearRegexError("unknown escape '\\\(next)'")
                }
                return .scalar(next)
            }
        }

        /// `\xHH`, `\uHHHH` or the braced `\x{…}` / `\u{…}` forms.
        private mutating func parseHexEscape(fixedDigits: Int) throws(LinearRegexError) -> Unicode.Scalar {
            var digits = ""
            if peek == "{" {
                position += 1
                while let next = take(), next != "}" {
                    digits.unicodeScalars.append(next)
                    guard digits.count <= 8 else { break }
                }
                guard scalars[position - 1] == "}" else { throw LinearRegexError("malformed '\\x{…}' escape") }
            } else {
                for _ in 0..<fixedDigits {
                    guard let next = take() else { break }
                    digits.unicodeScalars.append(next)
                }
            }
            guard !digits.isEmpty, let value = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(value) else {
                throw LinearRegexError("malformed hexadecimal escape '\(digits)'")
            }
            return scalar
        }

        /// After `[`: members up to the closing `]`. A `]` first and a `-` first or last are literal.
        private mutating func parseClass() throws(LinearRegexError) -> ScalarSet {
            let opening = position - 1
            var set = ScalarSet()
            if peek == "^" {
                set.negated = true
                position += 1
            }
            var first = true
            while true {
                guard let next = take() else { throw LinearRegexError("missing ']' for the class opened at offset \(opening)") }
                if next == "]" && !first { break }
                first = false
                if next == "[" && peek == ":" {
                    throw LinearRegexError("POSIX classes ('[:alpha:]') are not supported; use ranges such as [a-zA-Z]")
                }
                let low: Unicode.Scalar
                if next == "\\" {
                    guard let escaped = take() else { throw LinearRegexError("the pattern ends with a lone '\\'") }
                    switch try parseEscapedMember(escaped == "b" ? "\u{08}" : escaped) {
                    case .shorthand(let shorthand, let negated):
                        set.add(shorthand, negated: negated)
                        continue
                    case .scalar(let scalar): low = scalar
                    }
                } else {
                    low = next
                }
                // A range `low-high`, unless the '-' is the last member.
                if peek == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                    position += 1
                    guard var high = take() else { break }
                    if high == "\\" {
                        guard let escaped = take(),
                              case .scalar(let scalar) = try parseEscapedMember(escaped)
                        else { throw LinearRegexError("a class range must end in a single character") }
                        high = scalar
                    }
                    guard low.value <= high.value else {
                        throw LinearRegexError("class range '\(low)-\(high)' is out of order")
                    }
                    set.add(low.value...high.value)
                } else {
                    set.add(low.value...low.value)
                }
            }
            set.finish()
            return set
        }

        // MARK: Scanning

        private var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

        private mutating func take() -> Unicode.Scalar? {
            guard position < scalars.count else { return nil }
            defer { position += 1 }
            return scalars[position]
        }
    }
}
