import Foundation
import KeelCore

/// The control markup the sim driver understands inside a user message, so tests, demos and
/// benchmarks can script a "model" from plain chat input:
/// `[[tool:NAME {json}]]` calls a tool (arguments optional), `[[tools:auto]]` calls the first
/// offered tool, `[[error]]` fails the call, `[[pace:MS]]` streams each chunk MS milliseconds
/// apart (at most `maxPaceMilliseconds`), so a demo or a browser test can watch a turn mid-stream.
enum SimDirectives {
    static let error = "[[error]]"
    static let autoTools = "[[tools:auto]]"
    private static let toolOpener = "[[tool:"
    private static let paceOpener = "[[pace:"
    static let maxPaceMilliseconds = 1_000

    /// The pause between chunks a `[[pace:MS]]` asks for, clamped to `maxPaceMilliseconds`; nil without one.
    static func pace(in text: String) -> Duration? {
        guard let opener = text.range(of: paceOpener),
            let close = text.range(of: "]]", range: opener.upperBound..<text.endIndex),
            let milliseconds = Int(text[opener.upperBound..<close.lowerBound]), milliseconds >= 0
        else { return nil }
        return .milliseconds(min(milliseconds, maxPaceMilliseconds))
    }

    /// `text` without its `[[pace:MS]]` directives.
    static func removingPace(from text: String) -> String {
        var text = text
        while let opener = text.range(of: paceOpener),
            let close = text.range(of: "]]", range: opener.upperBound..<text.endIndex),
            Int(text[opener.upperBound..<close.lowerBound]) != nil
        {
            text.removeSubrange(opener.lowerBound..<close.upperBound)
        }
        return text
    }

    struct ToolDirective: Sendable, Hashable {
        var name: String
        var arguments: JSONValue
    }

    /// The tool directives in `text`, and the text left once all directives are removed.
    /// Malformed directives are left in the text, where they are visible in the reply.
    static func parse(_ text: String) -> (tools: [ToolDirective], remainingText: String) {
        var tools: [ToolDirective] = []
        var remaining = ""
        var cursor = text.startIndex
        while let opener = text.range(of: toolOpener, range: cursor..<text.endIndex) {
            remaining += text[cursor..<opener.lowerBound]
            if let (directive, end) = directive(in: text, from: opener.upperBound) {
                tools.append(directive)
                cursor = end
            } else {
                remaining += text[opener]
                cursor = opener.upperBound
            }
        }
        remaining += text[cursor...]
        remaining = remaining.replacingOccurrences(of: autoTools, with: "")
        return (tools, remaining.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Reads `NAME [ws {json}] ]]` starting right after `[[tool:`.
    private static func directive(in text: String, from start: String.Index) -> (ToolDirective, String.Index)? {
        let nameEnd = text[start...].firstIndex { $0.isWhitespace || $0 == "]" } ?? text.endIndex
        let name = String(text[start..<nameEnd])
        guard !name.isEmpty else { return nil }
        var index = skipWhitespace(in: text, from: nameEnd)
        var arguments: JSONValue = [:]
        if index < text.endIndex, text[index] == "{" {
            guard let close = matchingBrace(in: text, from: index) else { return nil }
            arguments = ToolCallText.arguments(from: String(text[index...close]))
            index = skipWhitespace(in: text, from: text.index(after: close))
        }
        guard text[index...].hasPrefix("]]") else { return nil }
        return (ToolDirective(name: name, arguments: arguments), text.index(index, offsetBy: 2))
    }

    private static func skipWhitespace(in text: String, from index: String.Index) -> String.Index {
        text[index...].firstIndex { !$0.isWhitespace } ?? text.endIndex
    }

    /// The `}` closing the object opened at `open`, skipping braces inside JSON strings.
    private static func matchingBrace(in text: String, from open: String.Index) -> String.Index? {
        var depth = 0
        var inString = false
        var escaped = false
        for index in text[open...].indices {
            let character = text[index]
            if inString {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
                continue
            }
            switch character {
            case "\"": inString = true
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
        }
        return nil
    }
}
