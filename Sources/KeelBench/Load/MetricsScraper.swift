/// What Prometheus does to a server with `ENABLE_PROMETHEUS_METRICS`: `GET /metrics` every
/// `interval`, the body read whole. `memory-traced` runs its measured phase inside `scraping`, so
/// the cost of rendering the metrics is part of what tracing costs.
enum MetricsScraper {
    /// Runs `body` while scraping (when `enabled`); returns its result and how many scrapes
    /// answered 200.
    static func scraping<T: Sendable>(
        _ api: BenchAPI, every interval: Duration, enabled: Bool = true, during body: () async -> T
    ) async -> (result: T, scrapes: Int) {
        guard enabled else { return (await body(), 0) }
        return await withTaskGroup(of: Int.self) { group in
            group.addTask {
                var answered = 0
                while !Task.isCancelled {
                    if let response = try? await api.client.execute(api.request(.GET, "/metrics"), timeout: .seconds(10)),
                        response.status == .ok, (try? await response.body.collect(upTo: 64 << 20)) != nil
                    {
                        answered += 1
                    }
                    try? await Task.sleep(for: interval)
                }
                return answered
            }
            let result = await body()
            group.cancelAll()
            let scrapes = await group.next() ?? 0
            return (result, scrapes)
        }
    }
}
