/// Chat Completions streaming bodies in the exact wire shape of the API reference
/// (`chat.completion.chunk` objects, `data: ` lines separated by a blank line, `data: [DONE]`).
enum OpenAIFixtures {
    private static let head =
        #""id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf""#

    private static func chunk(_ choice: String) -> String {
        #"data: {\#(head),"choices":[{"index":0,\#(choice),"logprobs":null,"finish_reason":null}],"usage":null}"# + "\n\n"
    }

    private static func toolArguments(_ fragment: String) -> String {
        chunk(#""delta":{"tool_calls":[{"index":0,"function":{"arguments":"\#(fragment)"}}]}"#)
    }

    static let textAndToolCall =
        chunk(#""delta":{"role":"assistant","content":"","refusal":null}"#)
        + chunk(#""delta":{"content":"Let me"}"#)
        + chunk(#""delta":{"content":" check the wéather."}"#)
        + chunk(
            #""delta":{"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]}"#
        )
        + toolArguments(#"{\""#)
        + toolArguments(#"location"#)
        + toolArguments(#"\":\""#)
        + toolArguments(#"Berlin"#)
        + toolArguments(#"\"}"#)
        + #"data: {\#(head),"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#
        + "\n\n"
        + #"data: {\#(head),"choices":[],"usage":{"prompt_tokens":82,"completion_tokens":18,"total_tokens":100,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#
        + "\n\n"
        + "data: [DONE]\n\n"

    /// A plain answer with reasoning deltas first (DeepSeek-style `reasoning_content`).
    static let reasoningThenText =
        chunk(#""delta":{"role":"assistant","content":null,"reasoning_content":"Think"}"#)
        + chunk(#""delta":{"content":null,"reasoning_content":"ing."}"#)
        + chunk(#""delta":{"content":"Hi"}"#)
        + #"data: {\#(head),"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#
        + "\n\n"
        + #"data: {\#(head),"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#
        + "\n\n"
        + "data: [DONE]\n\n"

    /// The first text chunk only, for streams that then stall, abort or fail.
    static let firstTextChunk = chunk(#""delta":{"role":"assistant","content":"Hello"}"#)

    static let midStreamError =
        firstTextChunk
        + #"data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#
        + "\n\n"
}
