import Foundation
import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("get_current_time")
struct GetCurrentTimeToolTests {
    /// 2024-07-01T12:34:56Z, a summer date so European offsets are DST offsets.
    let tool = GetCurrentTimeTool(now: { Date(timeIntervalSince1970: 1_719_837_296) })

    @Test("defaults to UTC and ISO 8601")
    func defaults() async throws {
        let result = try await TestSupport.call(tool, [:])
        #expect(result == ["time": "2024-07-01T12:34:56Z", "timezone": "UTC"])
    }

    @Test("honours an IANA time zone")
    func timeZone() async throws {
        let paris = try await TestSupport.call(tool, ["timezone": "Europe/Paris"])
        #expect(paris == ["time": "2024-07-01T14:34:56+02:00", "timezone": "Europe/Paris"])
        let newYork = try await TestSupport.call(tool, ["timezone": "America/New_York", "format": "iso8601"])
        #expect(newYork["time"] == "2024-07-01T08:34:56-04:00")
    }

    @Test("unix format is a number of seconds")
    func unix() async throws {
        let result = try await TestSupport.call(tool, ["format": "unix", "timezone": "Asia/Tokyo"])
        #expect(result["time"] == 1_719_837_296)
        #expect(result["timezone"] == "Asia/Tokyo")
    }

    @Test("human format is readable English in the zone's local time")
    func human() async throws {
        let result = try await TestSupport.call(tool, ["format": "human", "timezone": "Europe/Paris"])
        let text = try #require(result["time"]?.stringValue)
        #expect(text.hasPrefix("Monday, July 1, 2024 at 14:34:56"))
    }

    @Test("unknown time zones and formats are errors")
    func errors() async {
        let badZone = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["timezone": "Mars/Olympus_Mons"]) }
        #expect(badZone?.contains("unknown time zone 'Mars/Olympus_Mons'") == true)
        let badFormat = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["format": "rfc822"]) }
        #expect(badFormat?.contains("must be one of iso8601, unix, human") == true)
        let wrongType = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["timezone": 5]) }
        #expect(wrongType == "get_current_time: argument 'timezone' must be a string")
    }
}
