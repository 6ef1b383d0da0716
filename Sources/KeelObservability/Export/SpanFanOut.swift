/// Hands every finished span to each destination's pipeline. `publish` never blocks or awaits:
/// each pipeline queues (or drops and counts) on its own, so one slow destination affects
/// neither the caller nor the others.
struct SpanFanOut: Sendable {
    let pipelines: [ExportPipeline]

    init(pipelines: [ExportPipeline]) {
        self.pipelines = pipelines
    }

    /// True when no destination is configured (tracing off): callers may skip building spans.
    var isEmpty: Bool { pipelines.isEmpty }

    func publish(_ spans: [SpanRecord]) {
        guard !spans.isEmpty else { return }
        for pipeline in pipelines {
            pipeline.enqueue(spans)
        }
    }

    /// Counters per destination name, for metrics.
    var stats: [(destination: String, stats: ExportStats)] {
        pipelines.map { ($0.name, $0.stats) }
    }
}
