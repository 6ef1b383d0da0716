/// A regular expression compiled to a Thompson NFA and matched by simulating the automaton's
/// state set, so a match over a line of n scalars costs at most O(n × program size) steps —
/// linear in the input whatever the pattern (`^(a+)+$` included).
///
/// Hand-written on purpose: Swift's `Regex` (and Foundation's `NSRegularExpression`) backtrack and
/// can take exponential time on hostile patterns, and no package in the project's allowed set
/// offers a linear-time engine. `grep_files` takes patterns from the model, i.e. attacker input.
///
/// The supported subset (documented for the model in `grep_files`' description):
/// * literals; `.` (any scalar); classes `[abc]`, `[a-z]`, `[^…]` with escapes inside;
/// * `\d \w \s \D \W \S` (ASCII: `[0-9]`, `[A-Za-z0-9_]`, space/tab/CR/LF/FF/VT), `\b \B`,
///   `\t \n \r \f \v \e \0`, `\xHH`, `\x{H…}`, `\u{H…}`, `\uHHHH`, `\` before any punctuation;
/// * anchors `^ $` (the line's start and end; `\A \z \Z` too); groups `( )`, `(?: )`, `(?<name> )`
///   (nothing is captured: only "does the line match" is computed); alternation `|`;
/// * quantifiers `* + ?`, `{m}`, `{m,}`, `{m,n}`, `{,n}` (counts ≤ `maxRepetition`; lazy forms
///   accepted, they match the same lines);
/// * a leading `(?i)` for case-insensitive matching (simple case mapping).
///
/// Backreferences, lookaround, atomic groups, possessive quantifiers, `\p{…}` and other inline flags
/// are refused with a message naming them. Matching works on Unicode scalars, not grapheme
/// clusters.
struct LinearRegex: Sendable {
    /// Longest accepted pattern, in Unicode scalars.
    static let maxPatternLength = 2_000
    /// Largest count in `{m,n}`.
    static let maxRepetition = 1_000
    /// Largest compiled program; counted repetition multiplies a sub-pattern's size, so this is
    /// what bounds `(a{1000}){1000}`.
    static let maxProgramSize = 5_000
    /// Deepest group nesting (the parser recurses per group).
    static let maxNesting = 64

    let program: [Instruction]
    let sets: [ScalarSet]
    let caseInsensitive: Bool
    /// True when every path starts with `^`: a failed attempt at position 0 ends the search.
    let anchoredAtStart: Bool

    init(_ pattern: String) throws(LinearRegexError) {
        var scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= Self.maxPatternLength else {
            throw LinearRegexError("the pattern is longer than \(Self.maxPatternLength) characters")
        }
        let flag = Array("(?i)".unicodeScalars)
        caseInsensitive = scalars.starts(with: flag)
        if caseInsensitive { scalars.removeFirst(flag.count) }
        var parser = Parser(scalars)
        let tree = try parser.parse()
        var compiler = Compiler(caseInsensitive: caseInsensitive)
        try compiler.compile(tree)
        program = compiler.program
        sets = compiler.sets
        anchoredAtStart = tree.isAnchoredAtStart
    }
}

/// Why a pattern was refused: a message for the model.
struct LinearRegexError: Error, Sendable, Hashable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension LinearRegex {
    enum Assertion: Sendable, Hashable {
        case lineStart, lineEnd, wordBoundary, notWordBoundary
    }

    /// One NFA instruction. Consuming instructions advance to the next index on success.
    enum Instruction: Sendable, Hashable {
        /// A scalar (already case-folded when the regex is case-insensitive).
        case scalar(UInt32)
        case any
        /// An index into `sets`.
        case set(Int)
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    /// The parsed pattern.
    indirect enum Node: Sendable {
        case empty
        case scalar(Unicode.Scalar)
        case any
        case set(ScalarSet)
        case assertion(Assertion)
        case concatenation([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)

        var isAnchoredAtStart: Bool {
            switch self {
            case .assertion(.lineStart): true
            case .concatenation(let nodes): nodes.first?.isAnchoredAtStart ?? false
            case .alternation(let nodes): !nodes.isEmpty && nodes.allSatisfy(\.isAnchoredAtStart)
            case .repetition(let node, let min, _): min > 0 && node.isAnchoredAtStart
            default: false
            }
        }
    }
}
