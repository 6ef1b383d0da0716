import Foundation
import Hummingbird
import KeelCore

/// Page sizes of `GET /sessions/{id}/events` and `/messages`: a session can hold tens of
/// thousands of events, so neither endpoint answers with the whole log in one body.
enum EventPaging {
    static let defaultEventLimit = 500
    static let defaultMessageLimit = 200
    static let maxLimit = 1000

    /// `limit`, when given, within 1...`maxLimit`.
    static func requestedLimit(_ request: Request) throws -> Int? {
        guard let raw = RequestDecoding.string(request, "limit") else { return nil }
        guard let value = Int(raw), (1...maxLimit).contains(value) else {
            throw APIError.badRequest("Query parameter 'limit' must be an integer in 1...\(maxLimit)")
        }
        return value
    }

    /// Whether the client named a position to read after (`after_sequence=0` included).
    static func hasCursor(_ request: Request) -> Bool {
        RequestDecoding.string(request, "after_sequence") != nil || RequestDecoding.string(request, "since_id") != nil
            || lastEventID(request) != nil
    }
}

/// `{data, has_more, next_after_sequence}`: pass `next_after_sequence` back as `after_sequence`
/// for the next page; it is absent on the last page.
struct EventPageBody<Item: Encodable>: Encodable {
    var data: [Item]
    var hasMore: Bool
    var nextAfterSequence: Int?

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
        case nextAfterSequence = "next_after_sequence"
    }
}
