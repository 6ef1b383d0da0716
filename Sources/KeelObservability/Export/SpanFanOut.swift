/// Hands every finished span to each destination's pipeline. `publish` never blocks or awaits:
/// each pipeline queues (or drops and counts) on its own, so one slow destination affects
/// neither the caller nor the others. With an `encoder`, each span is encoded to its OTLP
/// protobuf once here, and every protobuf destination sends those bytes.
struct SpanFanOut: Sendable {
    let pipelines: [ExportPipeline]
    let encoder: OTLPTraceEncoder?

    init(pipelines: [ExportPipeline], encoder: OTLPTraceEncoder? = nil) {
        self.pipelines = pipelines
        self.encoder = encoder
    }

    /// True when no destination is configured (tracing off): callers may skip building spans.
    var isEmpty: Bool { pipelines.isEmpty }

    func publish(_ spans: [SpanRecord]) {
        guard !spans.isEmpty else { return }
        var spans = spans
        if let encoder {
            for index in spans.indices { spans[index].protobuf = try? encoder.spanBytes(spans[index]) }
        }
        for pipeline in pipelines {
            pipeline.enqueue(spans)
        }
    }

    /// Counters per destination name, for metrics.
    var stats: [(destination: String, stats: ExportStats)] {
        pipelines.map { ($0.name, $0.stats) }
    }
}
