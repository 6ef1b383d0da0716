import Foundation
import Hummingbird
import KeelCore

/// Reading requests: bounded JSON bodies with precise decode errors, query parameters and ids.
enum RequestDecoding {
    /// Largest accepted JSON body; system prompts may be up to 1 MB.
    static let maxBodyBytes = 2 * 1024 * 1024

    /// Like `decodeBody`, but an empty body is nil rather than an error.
    static func decodeOptionalBody<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T? {
        var request = request
        let buffer = try await collectBody(of: &request)
        guard buffer.readableBytes > 0 else { return nil }
        request.body = RequestBody(buffer: buffer)
        return try await decodeBody(type, from: request)
    }

    static func decodeBody<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        var request = request
        let buffer = try await collectBody(of: &request)
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("Request body must be a JSON object") }
        let data = Data(buffer.readableBytesView)
        try checkNesting(data)
        do {
            let value = try KeelJSON.decoder.decode(T.self, from: data)
            if let limited = value as? any LimitedInput { try limited.checkLimits() }
            return value
        } catch let error as DecodingError {
            throw APIError.badRequest(describe(error), code: "invalid_body")
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("Request body is not valid JSON", code: "invalid_body")
        }
    }

    /// The whole body, at most `maxBodyBytes`; a declared or actual larger body is a 413. A declared
    /// length over the limit is refused before a byte of the body is read.
    private static func collectBody(of request: inout Request) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            throw APIError(.contentTooLarge, code: "payload_too_large", "Request body exceeds \(maxBodyBytes) bytes")
        }
        do {
            return try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(.contentTooLarge, code: "payload_too_large", "Request body exceeds \(maxBodyBytes) bytes")
        }
    }

    /// Refuses bodies nesting deeper than `JSONNesting.maxDepth` below the top-level object before
    /// decoding them: such values decode, but cannot be read back once stored inside an event.
    static func checkNesting(_ body: Data) throws {
        let allowed = JSONNesting.maxDepth + 1  // the top-level object itself
        let depth = body.withUnsafeBytes { JSONNesting.depth(of: $0, stoppingAbove: allowed) }
        guard depth > allowed else { return }
        throw APIError.badRequest(
            "Request body nests JSON deeper than \(JSONNesting.maxDepth) levels below the top-level object",
            code: "nesting_too_deep")
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let rendered = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            return rendered.isEmpty ? "body" : "body" + rendered
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(friendlyName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(friendlyName(type)), got null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field is missing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "Request body is not valid JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "Request body is invalid"
        }
    }

    private static func friendlyName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    static func requireID(_ context: some RequestContext, _ name: String, prefix: IDPrefix) throws -> String {
        let id = context.parameters.get(name) ?? ""
        guard PublicID.isValid(id, prefix: prefix) else {
            throw APIError.badRequest("Invalid \(prefix.rawValue) id '\(id)': expected \(prefix.rawValue)_ followed by 32 lowercase hex characters", code: "invalid_id")
        }
        return id
    }

    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return value }
        guard let parsed = Int(raw), range.contains(parsed) else {
            throw APIError.badRequest("Query parameter '\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    static func boolean(_ request: Request, _ name: String) throws -> Bool {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return false }
        switch raw.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.badRequest("Query parameter '\(name)' must be true or false")
        }
    }

    static func string(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init)
    }

    /// Event type filters: repeated keys or comma lists; only known types, at most 40 each.
    static func eventTypes(_ request: Request, _ name: String) throws -> Set<EventType>? {
        let values = request.uri.queryParameters[values: Substring(name)]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !values.isEmpty else { return nil }
        guard values.count <= 40 else { throw APIError.badRequest("Query parameter '\(name)' accepts at most 40 types") }
        if let unknown = values.first(where: { !EventType.all.contains(EventType(rawValue: $0)) }) {
            throw APIError.badRequest("Unknown event type '\(unknown)' in '\(name)'", code: "invalid_filter")
        }
        return Set(values.map(EventType.init(rawValue:)))
    }
}

/// JSON responses with the wire's conventions.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try KeelJSON.encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func noContent() -> Response {
        Response(status: .noContent)
    }
}

/// `{data, total, offset, limit}` list envelope.
struct PageBody<Item: Encodable>: Encodable {
    var data: [Item]
    var total: Int
    var offset: Int
    var limit: Int
}

/// `{data}` list envelope.
struct ListBody<Item: Encodable>: Encodable {
    var data: [Item]
}
