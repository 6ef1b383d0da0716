/// `streamGenerateContent?alt=sse` bodies in the exact wire shape the Gemini API sends:
/// one `GenerateContentResponse` per `data:` line, CRLF line endings, no end marker.
enum GeminiFixtures {
    private static let tail = #""modelVersion": "gemini-2.5-flash","responseId": "mMKpaP2bI6TGz7IPxNGQiAU"}"#
    private static let promptUsage =
        #""usageMetadata": {"promptTokenCount": 96,"totalTokenCount": 96,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 96}]},"#

    private static func event(_ json: String) -> String {
        "data: " + json + "\r\n\r\n"
    }

    private static func parts(_ parts: String) -> String {
        event(#"{"candidates": [{"content": {"parts": [\#(parts)],"role": "model"},"index": 0}],\#(promptUsage)\#(tail)"#)
    }

    static let thoughtTextAndCalls =
        parts(#"{"text": "**Checking the weather**\n\nThe user wants Berlin and Munich.","thought": true}"#)
        + parts(#"{"text": "Let me look"}"#)
        + parts(#"{"text": " that up for you."}"#)
        + event(
            #"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather","args": {"location": "Berlin","unit": "celsius"}},"thoughtSignature": "CiQBVKhc7wEMYd3Nh2HqR0OzCbR6"},{"functionCall": {"name": "get_weather","args": {"location": "Munich"}}}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 96,"candidatesTokenCount": 31,"totalTokenCount": 187,"cachedContentTokenCount": 64,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 96}],"cacheTokensDetails": [{"modality": "TEXT","tokenCount": 64}],"thoughtsTokenCount": 60},\#(tail)"#
        )

    static let firstText = parts(#"{"text": "Hello"}"#)

    static let midStreamError =
        firstText
        + event(#"{"error": {"code": 503,"message": "The model is overloaded. Please try again later.","status": "UNAVAILABLE"}}"#)

    static let quotaBody =
        #"{"error": {"code": 429,"message": "Resource has been exhausted (e.g. check quota).","status": "RESOURCE_EXHAUSTED"}}"#
}
