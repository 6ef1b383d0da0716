/// Random lowercase hex, for ids the drivers must invent (Gemini call ids, sim ids).
enum RandomHex {
    static func make(_ digits: Int) -> String {
        let alphabet = Array("0123456789abcdef")
        var generator = SystemRandomNumberGenerator()
        return String((0..<digits).map { _ in alphabet[Int.random(in: 0..<16, using: &generator)] })
    }

    /// A tool call id (`call_<8 hex>`) not yet in `taken`, so ids stay unique within a response.
    static func callID(notIn taken: Set<String>) -> String {
        while true {
            let id = "call_" + make(8)
            if !taken.contains(id) { return id }
        }
    }
}
