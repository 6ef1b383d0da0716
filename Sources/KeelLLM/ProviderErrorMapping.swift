import Foundation
import KeelCore

/// Turns a provider's non-success answer into an `LLMError`, in one place for all providers, so
/// the retry decision (`LLMError.isRetryable`) means the same thing whichever provider failed.
enum ProviderErrorMapping {
    /// The longest provider message kept in `LLMError.badRequest`: enough to diagnose, too short
    /// to carry a whole echoed request into logs.
    static let maxDetailLength = 500

    /// Maps an HTTP status and the provider's error body. The body is used only for 4xx requests
    /// the caller must fix; it is redacted of the key and trimmed.
    static func error(status: Int, body: String, retryAfter: Double?, secret: String) -> LLMError {
        switch status {
        case 401, 403: return .unauthorized(status: status)
        case 429: return .rateLimited(retryAfter: retryAfter)
        case 408: return .timeout
        case 500...599: return .server(status: status)
        case 400...499: return .badRequest(status: status, detail: detail(from: body, secret: secret))
        default: return .invalidResponse("unexpected HTTP status \(status)")
        }
    }

    /// The human-readable message from an error body: `error.message` is where OpenAI, Anthropic
    /// and Gemini all put it (Gemini sometimes wraps the object in an array).
    static func message(fromBody body: String) -> String {
        let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let json = JSONValue.parse(trimmed) else { return trimmed }
        let object = json.arrayValue?.first ?? json
        if let message = object["error"]?["message"]?.stringValue ?? object["message"]?.stringValue {
            return message
        }
        if let message = object["error"]?.stringValue { return message }
        return trimmed
    }

    static func detail(from body: String, secret: String) -> String {
        let message = message(fromBody: body)
        return sanitize(message.isEmpty ? "no error message" : message, secret: secret)
    }

    /// Removes the key (providers echo it, sometimes partially masked, in auth errors) and caps
    /// the length. Every detail that leaves the transport goes through here.
    static func sanitize(_ text: String, secret: String) -> String {
        var text = text
        if secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "[REDACTED]")
        }
        if text.count > maxDetailLength {
            text = String(text.prefix(maxDetailLength - 1)) + "…"
        }
        return text
    }

    /// Applies `sanitize` to the free-text payloads of an error.
    static func sanitize(_ error: LLMError, secret: String) -> LLMError {
        switch error {
        case .badRequest(let status, let detail): .badRequest(status: status, detail: sanitize(detail, secret: secret))
        case .network(let detail): .network(sanitize(detail, secret: secret))
        case .invalidResponse(let detail): .invalidResponse(sanitize(detail, secret: secret))
        default: error
        }
    }
}
