/// Messages API streaming bodies in the exact wire shape of Anthropic's streaming reference
/// (`event:` + `data:` lines, blank-line separated, `ping`s interleaved).
enum AnthropicFixtures {
    private static func event(_ name: String, _ data: String) -> String {
        "event: \(name)\ndata: \(data)\n\n"
    }

    private static func inputJSON(_ fragment: String) -> String {
        event(
            "content_block_delta",
            #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\#(fragment)"}}"#)
    }

    static let textAndToolUse =
        event(
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2,"cache_creation_input_tokens":100,"cache_read_input_tokens":2048},"content":[],"stop_reason":null}}"#)
        + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        + event("ping", #"{"type": "ping"}"#)
        + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}"#)
        + event(
            "content_block_delta",
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather for Berlin:"}}"#)
        + event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
        + event(
            "content_block_start",
            #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#)
        + inputJSON("")
        + inputJSON(#"{\"location\":"#)
        + inputJSON(#" \"Ber"#)
        + inputJSON(#"lin\""#)
        + inputJSON(#", "#)
        + inputJSON(#"\"unit\": \"cel"#)
        + inputJSON(#"sius\"}"#)
        + event("content_block_stop", #"{"type":"content_block_stop","index":1}"#)
        + event(
            "message_delta",
            #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#)
        + event("message_stop", #"{"type":"message_stop"}"#)

    static let thinkingThenText =
        event(
            "message_start",
            #"{"type": "message_start", "message": {"id": "msg_01ThinK", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}"#)
        + event("content_block_start", #"{"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}"#)
        + event(
            "content_block_delta",
            #"{"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me solve this step by step:\n\n1. First break down 27 * 453"}}"#)
        + event(
            "content_block_delta",
            #"{"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\n2. 453 = 400 + 50 + 3"}}"#)
        + event(
            "content_block_delta",
            #"{"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#)
        + event("content_block_stop", #"{"type": "content_block_stop", "index": 0}"#)
        + event("content_block_start", #"{"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}"#)
        + event("content_block_delta", #"{"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "27 * 453 = 12,231"}}"#)
        + event("content_block_stop", #"{"type": "content_block_stop", "index": 1}"#)
        + event("message_delta", #"{"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 120}}"#)
        + event("message_stop", #"{"type": "message_stop"}"#)

    /// The start of a message up to its first text delta, for streams that then stall or fail.
    static let firstText =
        event(
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_err","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":10,"output_tokens":1},"content":[],"stop_reason":null}}"#)
        + event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        + event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"#)

    static let midStreamError =
        firstText
        + event("error", #"{"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}"#)

    static let overloadedBody = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
}
