import Foundation
import KeelCore

/// `get_current_time(timezone?, format?)`: the current time in an IANA time zone.
///
/// Models have no clock, so this is how they learn "now". The clock is injectable so tests can
/// assert exact output.
public struct GetCurrentTimeTool: Tool {
    public enum Format: String, CaseIterable, Sendable {
        /// `2025-01-31T14:05:09+01:00`
        case iso8601
        /// Seconds since 1970 as a JSON number.
        case unix
        /// `Friday, January 31, 2025 at 14:05:09 GMT+1` (English, 24-hour clock).
        case human
    }

    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "get_current_time",
            description: "Get the current date and time, optionally in a specific time zone and format.",
            parameters: JSONSchema.object([
                "timezone": JSONSchema.string("IANA time zone name such as 'Europe/Paris' or 'America/New_York'; defaults to UTC."),
                "format": JSONSchema.enumeration(
                    Format.allCases.map(\.rawValue),
                    "iso8601 (default): ISO 8601 with offset; unix: seconds since 1970; human: readable English."
                ),
            ])
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let arguments = try ToolArguments(arguments, tool: "get_current_time")
        let zoneName = try arguments.optionalString("timezone") ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw ToolError("get_current_time: unknown time zone '\(zoneName)'; use an IANA name such as 'Europe/Paris' or 'UTC'")
        }
        let format = try arguments.optionalChoice("format", among: Format.allCases.map(\.rawValue))
            .flatMap(Format.init(rawValue:)) ?? .iso8601
        let date = now()
        // The requested name is echoed rather than `zone.identifier`, which canonicalises
        // (Foundation reports "UTC" as "GMT") and would look like a different zone to the model.
        return ["time": Self.render(date, in: zone, as: format), "timezone": .string(zoneName)]
    }

    static func render(_ date: Date, in zone: TimeZone, as format: Format) -> JSONValue {
        switch format {
        case .unix:
            return .number(date.timeIntervalSince1970.rounded(.down))
        case .iso8601:
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = zone
            formatter.formatOptions = [.withInternetDateTime]
            return .string(formatter.string(from: date))
        case .human:
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = zone
            formatter.dateFormat = "EEEE, MMMM d, yyyy 'at' HH:mm:ss zzzz"
            return .string(formatter.string(from: date))
        }
    }
}
