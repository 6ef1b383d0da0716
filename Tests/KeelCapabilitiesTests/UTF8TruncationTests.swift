import Testing
@testable import KeelCapabilities

@Suite("UTF8Truncation")
struct UTF8TruncationTests {
    @Test("drops a character cut in half, keeps complete ones")
    func trims() {
        let euro = Array("a€".utf8)  // 61 E2 82 AC
        #expect(UTF8Truncation.trimIncompleteTail(Array(euro.prefix(3))) == [0x61])
        #expect(UTF8Truncation.trimIncompleteTail(euro) == euro)
        #expect(UTF8Truncation.decode(Array(euro.prefix(2)), truncated: true) == "a")
        #expect(UTF8Truncation.trimIncompleteTail([]) == [])
    }
}
