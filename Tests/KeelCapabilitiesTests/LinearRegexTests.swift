import Testing
@testable import KeelCapabilities

@Suite("LinearRegex: a linear-time regex subset")
struct LinearRegexTests {
    /// Whether `pattern` matches somewhere in `line`.
    private func matches(_ pattern: String, _ line: String, stepBudget: Int = 10_000_000) throws -> Bool {
        var matcher = LinearRegex.Matcher(try LinearRegex(pattern), stepBudget: stepBudget) { false }
        return try matcher.matches(ArraySlice(line.unicodeScalars.map(\.value)))
    }

    private func refusal(_ pattern: String) -> String? {
        do {
            _ = try LinearRegex(pattern)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("matches agree with the usual semantics over the supported syntax", arguments: [
        // (pattern, line, expected)
        ("abc", "xxabcxx", true), ("abc", "ab c", false), ("", "anything", true),
        ("a.c", "abc", true), ("a.c", "ac", false),
        ("^abc", "abcd", true), ("^abc", "xabc", false), ("abc$", "xabc", true), ("abc$", "abcx", false),
        ("^$", "", true), ("^$", "x", false),
        ("[a-c]+x", "zzbcax", true), ("[^a-c]", "abc", false), ("[^a-c]", "abcd", true),
        ("[]a]", "]", true), ("[a-]", "-", true), ("[\\d.]+", "3.14", true),
        ("\\d{3}-\\d{4}", "call 555-1234 now", true), ("\\d{3}-\\d{4}", "555-123", false),
        ("\\w+@\\w+\\.com", "mail bob@example.com", true), ("\\s", "nospace", false), ("\\S", "   x", true),
        ("\\D", "123", false), ("\\W", "abc_9", false), ("\\W", "a-b", true),
        ("\\bcat\\b", "a cat sat", true), ("\\bcat\\b", "concatenate", false), ("\\Bcat", "concat", true),
        ("colou?r", "color", true), ("colou?r", "colour", true), ("colou?r", "colouur", false),
        ("ab*c", "ac", true), ("ab+c", "ac", false), ("ab+c", "abbbc", true),
        ("a{2,3}", "a", false), ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false), ("^a{2,}$", "aaaaa", true),
        ("^a{,2}$", "aa", true), ("^a{,2}$", "aaa", false), ("^a{3}$", "aaa", true),
        ("a{x}", "a{x}", true), ("x{", "x{", true),
        ("gr(a|e)y", "grey", true), ("gr(?:a|e)y", "gray", true), ("gr(a|e)y", "groy", false),
        ("(?<name>ab)+$", "xabab", true), ("cat|dog|bird", "a bird", true), ("^(cat|dog)$", "cats", false),
        ("(a*)*b", "aaab", true), ("(a|)+b", "b", true), ("a*?b", "aab", true),
        ("\\.\\*\\+", "x.*+", true), ("\\x41\\u0042\\u{43}", "ABC", true), ("\\t", "a\tb", true),
        ("(?i)hello", "Say HELLO", true), ("(?i)[a-c]x", "BX", true), ("(?i)straße", "STRAßE", true), ("hello", "HELLO", false),
        ("é+", "café", true), ("^.{4}$", "café", true),
        ("\\Aab\\z", "ab", true),
    ] as [(String, String, Bool)])
    func semantics(pattern: String, line: String, expected: Bool) throws {
        #expect(try matches(pattern, line) == expected, "\(pattern) on \(line)")
    }

    @Test("unsupported constructs are refused with a message naming them", arguments: [
        ("(a)\\1", "backreferences"), ("\\k<x>", "backreferences"), ("a(?=b)", "lookahead"), ("a(?!b)", "lookahead"),
        ("(?<=a)b", "lookbehind"), ("(?<!a)b", "lookbehind"), ("(?>a)", "atomic"), ("a*+", "possessive"),
        ("\\p{L}", "Unicode property"), ("(?s)a", "inline flags"), ("[[:alpha:]]", "POSIX"),
    ])
    func unsupported(pattern: String, name: String) {
        let message = refusal(pattern)
        #expect(message?.contains(name) == true, "\(pattern): \(message ?? "accepted")")
    }

    @Test("malformed patterns are refused", arguments: ["(", "a)", "[abc", "*a", "a**", "\\", "[z-a]", "a{3,2}", "\\q"])
    func malformed(pattern: String) {
        #expect(refusal(pattern) != nil, "\(pattern) was accepted")
    }

    @Test("repetition counts and program size are capped")
    func caps() {
        #expect(refusal("a{1001}")?.contains("limited to 1000") == true)
        #expect(refusal("a{1000}") == nil)
        #expect(refusal("(a{1000}){1000}")?.contains("states") == true)
        #expect(refusal(String(repeating: "(", count: 70) + String(repeating: ")", count: 70))?.contains("nested") == true)
        #expect(refusal(String(repeating: "a", count: LinearRegex.maxPatternLength + 1)) != nil)
    }

    @Test("the classic catastrophic-backtracking patterns finish in milliseconds over long input")
    func pathological() throws {
        let line = String(repeating: "a", count: 20_000) + "!"
        let clock = ContinuousClock()
        for pattern in ["^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "(.*a){20}$", "^(\\w+\\s?)*$"] {
            var result = true
            let elapsed = try clock.measure { result = try matches(pattern, line, stepBudget: .max) }
            #expect(result == false, "\(pattern)")
            // Linear: 20,000 scalars × a few dozen states. Generous for a loaded 2-core debug build.
            #expect(elapsed < .seconds(10), "\(pattern) took \(elapsed)")  // backtracking: longer than a lifetime
        }
    }

    @Test("matching stops with stepBudget when the budget runs out and with cancelled when the flag is raised")
    func interruptions() throws {
        let regex = try LinearRegex("(a|b)*c")
        let line = ArraySlice(String(repeating: "ab", count: 10_000).unicodeScalars.map(\.value))
        var limited = LinearRegex.Matcher(regex, stepBudget: 1_000) { false }
        #expect(throws: LinearRegex.Interruption.stepBudget) { try limited.matches(line) }
        var cancelled = LinearRegex.Matcher(regex, stepBudget: .max) { true }
        #expect(throws: LinearRegex.Interruption.cancelled) { try cancelled.matches(line) }
    }
}
