import Foundation
import Hummingbird
import KeelAgentProtocol
import KeelAuth
import KeelCore
import KeelEngine
import KeelObservability
import KeelSecrets
import KeelServices
import Logging

/// Settings the HTTP layer needs, taken from the server configuration.
public struct APISettings: Sendable {
    public var apiPrefix: String
    public var corsAllowedOrigins: [String]
    public var sse: SSESettings
    public var deploymentGrade: String
    public var storageKind: String
    /// How often a durable monitoring stream sends a `snapshot` (`DURABLE_MONITOR_SNAPSHOT_SECS`).
    public var monitorSnapshotInterval: Duration

    public init(
        apiPrefix: String = "", corsAllowedOrigins: [String] = [], sse: SSESettings = SSESettings(),
        deploymentGrade: String = "dev", storageKind: String = "memory", monitorSnapshotInterval: Duration = .seconds(5)
    ) {
        self.monitorSnapshotInterval = monitorSnapshotInterval
        self.apiPrefix = apiPrefix
        self.corsAllowedOrigins = corsAllowedOrigins
        self.sse = sse
        self.deploymentGrade = deploymentGrade
        self.storageKind = storageKind
    }
}

/// The API: the services it is built on and the router of its controllers.
public struct KeelAPI: Sendable {
    public let services: APIServices
    public let auth: AuthService
    public let oauthClient: OAuthClient
    public let settings: APISettings
    /// Prometheus metrics; nil (the default) installs neither `GET /metrics` nor the middleware.
    public let metrics: KeelMetrics?
    /// The Agent Protocol routes (`/assistants`, `/threads`, `/runs`, `/info`); nil serves none.
    public let agentProtocol: AgentProtocolService?
    /// The engine behind `/v1/durable` (the operations API); nil serves none.
    public let engine: TurnControl?
    let streams: SSEConnectionLimiter

    public init(
        services: APIServices, auth: AuthService, oauthClient: OAuthClient, settings: APISettings,
        metrics: KeelMetrics? = nil, agentProtocol: AgentProtocolService? = nil, engine: TurnControl? = nil
    ) {
        self.agentProtocol = agentProtocol
        self.engine = engine
        self.services = services
        self.auth = auth
        self.oauthClient = oauthClient
        self.settings = settings
        self.metrics = metrics
        self.streams = SSEConnectionLimiter(limits: settings.sse)
    }

    /// Builds the router: `/health`, `/api-doc/openapi.json`, the web UI (`/`, `/assets/…`) (and
    /// `/metrics` when metrics are on) at the root, everything else
    /// under `API_PREFIX` + `/v1`. Every `/v1` route needs a credential except the sign-in routes
    /// of `/v1/auth` (config, register, login, refresh, logout, OAuth).
    public func makeRouter() -> Router<KeelRequestContext> {
        let router = Router(context: KeelRequestContext.self)
        let metrics = MetricsController(metrics: metrics)
        metrics.addRoutes(to: router)  // first: see MetricsController
        router.add(middleware: ErrorEnvelopeMiddleware())
        if !settings.corsAllowedOrigins.isEmpty {
            router.add(middleware: CORSPolicyMiddleware(allowedOrigins: Set(settings.corsAllowedOrigins)))
        }
        MetaController(settings: settings, authMode: auth.settings.mode.rawValue).addRoutes(to: router)
        WebUI(apiPrefix: settings.apiPrefix).addRoutes(to: router)
        let authRoutes = AuthController(auth: auth, oauthClient: oauthClient, apiPrefix: settings.apiPrefix)
        authRoutes.addPublicRoutes(to: router.group(RouterPath(settings.apiPrefix + "/v1/auth")))
        let v1 = router.group(RouterPath(settings.apiPrefix + "/v1")).add(middleware: AuthenticationMiddleware(auth: auth))
        authRoutes.addAuthenticatedRoutes(to: v1.group("auth"))
        OrganizationsController(auth: auth).addRoutes(to: v1)
        let sessions = SessionLookup(sessions: services.sessions)
        AgentsController(agents: services.agents).addRoutes(to: v1)
        SessionsController(sessions: services.sessions).addRoutes(to: v1)
        MessagesController(sessions: sessions, messages: services.messages, events: services.events).addRoutes(to: v1)
        EventsController(
            sessions: sessions, events: services.events, settings: settings.sse, streams: streams,
            gauge: metrics.streamGauge
        ).addRoutes(to: v1)
        let providers = ProvidersController(providers: services.providers)
        providers.addRoutes(to: v1, path: "llm-providers")
        providers.addRoutes(to: v1, path: "providers")
        CatalogController(catalog: services.catalog).addRoutes(to: v1)
        if let engine {
            DurableController(
                engine: engine, settings: settings.sse, streams: streams, gauge: metrics.streamGauge,
                monitorSnapshotInterval: settings.monitorSnapshotInterval
            ).addRoutes(to: v1)
        }
        if let agentProtocol {
            // LangGraph clients take a base URL and add `/threads`, `/runs` … to it: the routes live
            // at the root of API_PREFIX, beside `/v1`, under the same credentials.
            let controller = AgentProtocolController(
                service: agentProtocol, settings: settings.sse, streams: streams, gauge: metrics.streamGauge)
            let root = router.group(RouterPath(settings.apiPrefix))
            controller.addPublicRoutes(to: root)
            controller.addRoutes(to: router.group(RouterPath(settings.apiPrefix)).add(middleware: AuthenticationMiddleware(auth: auth)))
        }
        // Last, so it wraps only the not-found responder.
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        return router
    }
}
