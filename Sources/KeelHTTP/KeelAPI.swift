import Foundation
import Hummingbird
import KeelCore
import KeelEngine
import KeelObservability
import KeelSecrets
import Logging

/// Settings the HTTP layer needs, taken from the server configuration.
public struct APISettings: Sendable {
    public var apiPrefix: String
    public var corsAllowedOrigins: [String]
    public var sse: SSESettings
    public var deploymentGrade: String
    public var storageKind: String

    public init(
        apiPrefix: String = "", corsAllowedOrigins: [String] = [], sse: SSESettings = SSESettings(),
        deploymentGrade: String = "dev", storageKind: String = "memory"
    ) {
        self.apiPrefix = apiPrefix
        self.corsAllowedOrigins = corsAllowedOrigins
        self.sse = sse
        self.deploymentGrade = deploymentGrade
        self.storageKind = storageKind
    }
}

/// The capability catalogue as the API sees it.
public struct CapabilityDirectory: Sendable {
    public var all: @Sendable () -> [Capability]
    public var resolve: @Sendable ([String]) throws -> [Capability]

    public init(all: @escaping @Sendable () -> [Capability], resolve: @escaping @Sendable ([String]) throws -> [Capability]) {
        self.all = all
        self.resolve = resolve
    }
}

/// The API: its dependencies and the routes it installs.
public struct KeelAPI: Sendable {
    public let store: any KeelStore
    public let engine: any TurnRunner
    public let cipher: SecretsCipher
    public let capabilities: CapabilityDirectory
    public let settings: APISettings
    /// Prometheus metrics; nil (the default) installs neither `GET /metrics` nor the middleware.
    public let metrics: KeelMetrics?
    let streams: SSEConnectionLimiter

    public init(
        store: any KeelStore, engine: any TurnRunner, cipher: SecretsCipher, capabilities: CapabilityDirectory,
        settings: APISettings, metrics: KeelMetrics? = nil
    ) {
        self.store = store
        self.engine = engine
        self.cipher = cipher
        self.capabilities = capabilities
        self.settings = settings
        self.metrics = metrics
        self.streams = SSEConnectionLimiter(limits: settings.sse)
    }

    /// Builds the router: `/health`, `/api-doc/openapi.json` (and `/metrics` when metrics are on) at the root, everything else
    /// under `API_PREFIX` + `/v1`.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        installMetrics(on: router)
        router.add(middleware: ErrorEnvelopeMiddleware())
        if !settings.corsAllowedOrigins.isEmpty {
            router.add(middleware: CORSPolicyMiddleware(allowedOrigins: Set(settings.corsAllowedOrigins)))
        }
        addMetaRoutes(to: router)
        let v1 = router.group(RouterPath(settings.apiPrefix + "/v1"))
        addAgentRoutes(to: v1)
        addSessionRoutes(to: v1)
        addMessageRoutes(to: v1)
        addStreamRoutes(to: v1)
        addProviderRoutes(to: v1, path: "llm-providers")
        addProviderRoutes(to: v1, path: "providers")
        addCatalogRoutes(to: v1)
        // Last, so it wraps only the not-found responder.
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        return router
    }

    func organizationID(_ request: Request) -> String {
        BuiltIn.organizationID
    }
}
