import Foundation
import Hummingbird
import KeelCore

/// Routes that never move under `API_PREFIX`: `/health` and the OpenAPI document.
struct MetaController: Sendable {
    let settings: APISettings
    let authMode: String

    func addRoutes(to router: Router<KeelRequestContext>) {
        router.get("health") { _, _ in
            try JSONResponse.make(
                HealthBody(status: "ok", version: KeelCore.version, storage: settings.storageKind,
                           deploymentGrade: settings.deploymentGrade, authMode: authMode))
        }
        router.get("api-doc/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data(apiPrefix: settings.apiPrefix))))
        }
    }
}

struct HealthBody: Encodable {
    var status: String
    var version: String
    var storage: String
    var deploymentGrade: String
    var authMode: String

    enum CodingKeys: String, CodingKey {
        case status, version, storage
        case deploymentGrade = "deployment_grade"
        case authMode = "auth_mode"
    }
}

/// The OpenAPI document shipped as a resource, with the server URL set to the API prefix.
enum OpenAPIDocument {
    static let raw: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { return Data("{}".utf8) }
        return data
    }()

    static func data(apiPrefix: String) -> Data {
        guard !apiPrefix.isEmpty,
            var document = try? JSONDecoder().decode([String: JSONValue].self, from: raw)
        else { return raw }
        document["servers"] = [["url": .string(apiPrefix)]]
        return (try? JSONEncoder().encode(document)) ?? raw
    }
}
