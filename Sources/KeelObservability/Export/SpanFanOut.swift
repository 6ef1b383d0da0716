/// Hands every finished span to each destination's pipeline. `publish` never blocks or awaits:
/// each pipeline queues (or drops and counts) on its own, so one slow destination affects
/// neither the caller nor the others.
public struct SpanFanOut: Sendable {
    public let pipelines: [ExportPipeline]

    public init(pipelines: [ExportPipeline]) {
        self.pipelines = pipelines
    }

    /// True when no destination is configured (tracing off): callers may skip building spans.
    public var isEmpty: Bool { pipelines.isEmpty }

    public func publish(_ spans: [SpanRecord]) {
        guard !spans.isEmpty else { return }
        for pipeline in pipelines {
            pipeline.enqueue(spans)
        }
    }

    /// Counters per destination name, for metrics.
    public var stats: [(destination: String, stats: ExportStats)] {
        pipelines.map { ($0.name, $0.stats) }
    }
}
