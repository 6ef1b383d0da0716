import Foundation
import Prometheus
import Synchronization

/// What the durable engine looks like now, sampled by the server every few seconds: the queue
/// (shared by every instance, read from the store) and this process's running totals.
public struct DurableMetricsSample: Sendable {
    /// Steps by status (`pending`, `claimed`, `dead`); nil in DEV_MODE.
    public var queueDepth: [String: Int]?
    /// Seconds since the oldest ready pending step became visible, and since the stalest claimed
    /// step's heartbeat.
    public var oldestAge: [String: Double]?
    public var turns: [String: Int]?
    /// Dead letters not requeued.
    public var deadLetters: Int?
    public var workers: [String: Int]?
    /// Breaker state by key: 0 closed, 1 half-open, 2 open.
    public var breakers: [String: Int]
    /// This process's totals since it started.
    public var claims: Int
    public var reclaims: Int
    public var deadLettered: Int
    public var breakerRefusals: [String: Int]

    public init(
        queueDepth: [String: Int]?, oldestAge: [String: Double]?, turns: [String: Int]?, deadLetters: Int?,
        workers: [String: Int]?, breakers: [String: Int], claims: Int, reclaims: Int, deadLettered: Int,
        breakerRefusals: [String: Int]
    ) {
        self.queueDepth = queueDepth
        self.oldestAge = oldestAge
        self.turns = turns
        self.deadLetters = deadLetters
        self.workers = workers
        self.breakers = breakers
        self.claims = claims
        self.reclaims = reclaims
        self.deadLettered = deadLettered
        self.breakerRefusals = breakerRefusals
    }
}

/// The last totals reported, so counters advance by differences; breaker keys share a label budget.
final class DurableSeries: Sendable {
    let keys: MetricsLabelBudget
    let lastTotals = Mutex<[String: Int]>([:])

    init(keys: MetricsLabelBudget) {
        self.keys = keys
    }

    /// The increase of a running total since it was last reported.
    func delta(_ name: String, total: Int) -> Int {
        lastTotals.withLock { last in
            let previous = last[name] ?? 0
            last[name] = total
            return total >= previous ? total - previous : total
        }
    }
}

extension KeelMetrics {
    /// Families:
    /// - `keel_durable_queue_depth{status}` (gauge): steps pending, claimed, dead
    /// - `keel_durable_queue_oldest_age_seconds{status}` (gauge): pending — since the oldest ready
    ///   step became visible; claimed — since the stalest heartbeat
    /// - `keel_durable_turns{status}` (gauge): queued, running, waiting
    /// - `keel_durable_dead_letters` (gauge): dead letters not requeued
    /// - `keel_durable_workers{status}` (gauge): active, draining, stopped, lost
    /// - `keel_durable_claims_total`, `keel_durable_reclaims_total`, `keel_durable_dead_lettered_total`
    ///   (counters, this process)
    /// - `keel_circuit_breaker_state{key}` (gauge: 0 closed, 1 half-open, 2 open)
    /// - `keel_circuit_breaker_refusals_total{key}` (counter, this process)
    public func recordDurable(_ sample: DurableMetricsSample) {
        for (status, depth) in sample.queueDepth ?? [:] {
            registry.makeGauge(descriptor: DurableFamily.queueDepth, labels: [("status", status)]).set(Double(depth))
        }
        for (status, age) in sample.oldestAge ?? [:] {
            registry.makeGauge(descriptor: DurableFamily.queueOldestAge, labels: [("status", status)]).set(age)
        }
        for (status, count) in sample.turns ?? [:] {
            registry.makeGauge(descriptor: DurableFamily.turns, labels: [("status", status)]).set(Double(count))
        }
        if let deadLetters = sample.deadLetters {
            registry.makeGauge(descriptor: DurableFamily.deadLetters).set(Double(deadLetters))
        }
        for (status, count) in sample.workers ?? [:] {
            registry.makeGauge(descriptor: DurableFamily.workers, labels: [("status", status)]).set(Double(count))
        }
        for (name, family, total) in [
            ("claims", DurableFamily.claims, sample.claims), ("reclaims", DurableFamily.reclaims, sample.reclaims),
            ("dead_lettered", DurableFamily.deadLettered, sample.deadLettered),
        ] {
            registry.makeCounter(descriptor: family).increment(by: Int64(durable.delta(name, total: total)))
        }
        for (key, state) in sample.breakers {
            registry.makeGauge(descriptor: DurableFamily.breakerState, labels: [("key", durable.keys.admit(key))])
                .set(Double(state))
        }
        for (key, total) in sample.breakerRefusals {
            registry.makeCounter(descriptor: DurableFamily.breakerRefusals, labels: [("key", durable.keys.admit(key))])
                .increment(by: Int64(durable.delta("refusals:" + key, total: total)))
        }
    }

    enum DurableFamily {
        static var queueDepth: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "queue_depth",
                helpText: "Durable steps by status (pending, claimed, dead), across every instance.")
        }
        static var queueOldestAge: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "queue_oldest_age", unitName: "seconds",
                helpText: "Age of the oldest ready pending step (status=pending) and of the stalest claimed step's heartbeat (status=claimed).")
        }
        static var turns: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "turns",
                helpText: "Durable turns by status (queued, running, waiting), across every instance.")
        }
        static var deadLetters: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "dead_letters",
                helpText: "Dead letters not requeued, across every instance.")
        }
        static var workers: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "workers",
                helpText: "Step executors by status (active, draining, stopped, lost).")
        }
        static var claims: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "claims", unitName: "total",
                helpText: "Steps claimed through this process.")
        }
        static var reclaims: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "reclaims", unitName: "total",
                helpText: "Stale steps this process returned to the queue.")
        }
        static var deadLettered: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "durable", metricName: "dead_lettered", unitName: "total",
                helpText: "Steps this process moved to the dead letters.")
        }
        static var breakerState: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "circuit_breaker", metricName: "state",
                helpText: "Provider circuit breaker state by key: 0 closed, 1 half-open, 2 open.")
        }
        static var breakerRefusals: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "circuit_breaker", metricName: "refusals", unitName: "total",
                helpText: "Reason steps this process failed fast because their provider's breaker was open.")
        }
    }
}
