import Foundation

/// How `web_fetch` treats a response body, decided from its `Content-Type`.
///
/// Binary bodies (images, archives, PDFs…) are useless to a language model and expensive to
/// carry in its context, so they are reported as metadata only. When the server sends no content
/// type the body is sniffed instead.
enum MediaType {
    case text(charset: String?)
    case binary
    case unknown

    init(contentType: String?) {
        guard let contentType else {
            self = .unknown
            return
        }
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let essence = parts.first, !essence.isEmpty else {
            self = .unknown
            return
        }
        let charset = parts.dropFirst().first { $0.hasPrefix("charset=") }
            .map { String($0.dropFirst("charset=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) }
        self = Self.isTextual(essence) ? .text(charset: charset) : .binary
    }

    private static let textualApplicationTypes: Set<String> = [
        "application/json", "application/xml", "application/javascript", "application/ecmascript",
        "application/x-javascript", "application/x-www-form-urlencoded", "application/x-ndjson",
        "application/yaml", "application/x-yaml", "application/toml", "application/graphql", "application/sql",
        "application/x-sh", "application/csv",
    ]

    static func isTextual(_ essence: String) -> Bool {
        essence.hasPrefix("text/") || textualApplicationTypes.contains(essence) || essence.hasSuffix("+json")
            || essence.hasSuffix("+xml")
    }

    /// Decodes body bytes as text: the declared charset when Foundation knows it, else UTF-8
    /// (the overwhelmingly common case), replacing invalid sequences.
    static func decode(_ bytes: [UInt8], charset: String?) -> String {
        if let charset, !["utf-8", "utf8"].contains(charset) {
            let encoding = knownEncoding(charset)
            if let encoding, let text = String(bytes: bytes, encoding: encoding) { return text }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func knownEncoding(_ charset: String) -> String.Encoding? {
        switch charset {
        case "iso-8859-1", "latin1", "latin-1": .isoLatin1
        case "windows-1252", "cp1252": .windowsCP1252
        case "us-ascii", "ascii": .ascii
        case "utf-16": .utf16
        default: nil
        }
    }

    /// Sniffs an untyped body: text when it is valid UTF-8 without NUL bytes.
    static func looksLikeText(_ bytes: [UInt8]) -> Bool {
        !bytes.contains(0) && String(validating: bytes, as: UTF8.self) != nil
    }
}
