import Foundation
import KeelServer
import Testing

/// Checks the OpenAPI document shipped in `Sources/KeelHTTP/Resources/openapi.json`: it parses,
/// declares OpenAPI 3.x and documents exactly the routes the server installs, so a route added
/// without documentation (or documentation left behind by a removed route) fails here.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// Every `METHOD /path` the router serves (from the router itself), with the catch-all model id
    /// written as the document's `{model_id}`. `/metrics` is documented only as the Prometheus
    /// text, outside the JSON API, so it is left out.
    static func servedRoutes() async throws -> Set<String> {
        let configuration = try KeelConfiguration(environment: ["DEV_MODE": "1", "AUTH_MODE": "full"])
        return Set(
            try await KeelServer.routeList(configuration: configuration)
                .map { $0.replacingOccurrences(of: "/**", with: "/{model_id}") }
                .map { route in route.contains(" /") ? route : route.replacingOccurrences(of: " ", with: " /") }
                .filter { $0 != "GET /metrics" })
    }

    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    static func loadDocument() throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("../../Sources/KeelHTTP/Resources/openapi.json")
            .standardizedFileURL
        let data = try Data(contentsOf: url)
        let object = try JSONSerialization.jsonObject(with: data)
        return try #require(object as? [String: Any], "the document must be a JSON object")
    }

    /// `(method, path, operation)` for every operation in the document.
    static func operations(_ document: [String: Any]) throws -> [(method: String, path: String, operation: [String: Any])] {
        let paths = try #require(document["paths"] as? [String: Any], "the document must have paths")
        var result: [(method: String, path: String, operation: [String: Any])] = []
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "path item \(path) must be an object")
            for (key, value) in item where httpMethods.contains(key) {
                let operation = try #require(value as? [String: Any], "\(key) \(path) must be an object")
                result.append((key.uppercased(), path, operation))
            }
        }
        return result
    }

    @Test("parses and declares OpenAPI 3.x")
    func parsesAsOpenAPI3() throws {
        let document = try Self.loadDocument()
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3."))
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["title"] is String)
        #expect(info["version"] is String)
    }

    @Test("documents exactly the served routes")
    func documentsExactlyTheServedRoutes() async throws {
        let documented = Set(try Self.operations(Self.loadDocument()).map { "\($0.method) \($0.path)" })
        let served = try await Self.servedRoutes()
        #expect(served.contains("GET /v1/agents/{id}") && served.contains("POST /v1/auth/login"), "\(served.sorted())")
        let undocumented = served.subtracting(documented)
        let unknown = documented.subtracting(served)
        #expect(undocumented.isEmpty, "routes served but not documented: \(undocumented.sorted())")
        #expect(unknown.isEmpty, "routes documented but not served: \(unknown.sorted())")
    }

    @Test("every operation has a unique operationId and documented responses")
    func operationsAreComplete() throws {
        let operations = try Self.operations(Self.loadDocument())
        var seen: Set<String> = []
        for (method, path, operation) in operations {
            let operationID = try #require(operation["operationId"] as? String, "\(method) \(path) has no operationId")
            #expect(seen.insert(operationID).inserted, "duplicate operationId \(operationID)")
            let responses = try #require(operation["responses"] as? [String: Any], "\(method) \(path) has no responses")
            #expect(
                responses.keys.contains { $0.hasPrefix("2") || $0.hasPrefix("3") },
                "\(method) \(path) documents no success (or redirect) response")
        }
    }

    @Test("every local $ref resolves")
    func referencesResolve() throws {
        let document = try Self.loadDocument()
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        #expect(!references.isEmpty)
        for reference in references {
            #expect(reference.hasPrefix("#/"), "non-local reference \(reference)")
            var current: Any = document
            for component in reference.dropFirst(2).split(separator: "/") {
                let key = component.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                guard let next = (current as? [String: Any])?[key] else {
                    Issue.record("unresolved reference \(reference)")
                    break
                }
                current = next
            }
        }
    }
}
