import KeelHTTP
import Logging

extension KeelServer {
    /// Raises the descriptor limit for the HTTP connection cap and logs both; warns when the cap
    /// cannot be reached (too few descriptors) or would refuse SSE streams the SSE limit allows.
    static func prepareConnectionLimits(_ configuration: KeelConfiguration, logger: Logger) {
        let settings = configuration.httpConnectionSettings
        guard let limits = DescriptorLimit.raiseToHardLimit() else {
            logger.warning("cannot read the open-descriptor limit (RLIMIT_NOFILE)")
            return
        }
        logger.info(
            "open-descriptor limit raised to the hard limit",
            metadata: [
                "rlimit_nofile": "\(limits.soft)", "rlimit_nofile_hard": "\(limits.hard)",
                "http_max_connections": "\(settings.maxConnections)",
            ])
        // Connections share the descriptors with the database pool, files and the listener itself.
        let headroom: UInt64 = 256
        if limits.soft < UInt64(settings.maxConnections) + headroom {
            logger.warning(
                "RLIMIT_NOFILE is too low for HTTP_MAX_CONNECTIONS; descriptors may run out before the cap refuses connections",
                metadata: ["rlimit_nofile": "\(limits.soft)", "http_max_connections": "\(settings.maxConnections)"])
        }
        if settings.maxConnections <= configuration.sseGlobalMax {
            logger.warning(
                "HTTP_MAX_CONNECTIONS is not above SSE_GLOBAL_MAX; open streams can take every connection",
                metadata: ["http_max_connections": "\(settings.maxConnections)", "sse_global_max": "\(configuration.sseGlobalMax)"])
        }
    }
}

extension KeelConfiguration {
    var httpConnectionSettings: HTTPConnectionSettings {
        HTTPConnectionSettings(
            headerTimeout: .seconds(httpHeaderTimeoutSecs), idleTimeout: .seconds(httpIdleTimeoutSecs),
            maxConnections: httpMaxConnections)
    }
}
