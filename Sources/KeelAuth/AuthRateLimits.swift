import KeelCore

/// How many login, sign-up and key-creation attempts are allowed in a window. Counted in memory
/// per instance: behind N instances an attacker gets at most N times these numbers.
public struct AuthRateLimits: Sendable {
    /// Login attempts for one email (failed or not) per window.
    public var attemptsPerAccount: Int
    /// Login and sign-up attempts from one client address per window.
    public var attemptsPerAddress: Int
    /// API keys one user may create per window.
    public var keyCreationsPerAccount: Int
    public var window: Duration

    public init(
        attemptsPerAccount: Int = 10, attemptsPerAddress: Int = 30, keyCreationsPerAccount: Int = 20,
        window: Duration = .seconds(300)
    ) {
        self.attemptsPerAccount = attemptsPerAccount
        self.attemptsPerAddress = attemptsPerAddress
        self.keyCreationsPerAccount = keyCreationsPerAccount
        self.window = window
    }

    init(reader: EnvironmentReader) throws(ConfigurationError) {
        self.init(
            attemptsPerAccount: try reader.positiveInt("AUTH_LOGIN_ATTEMPTS_PER_ACCOUNT", default: 10),
            attemptsPerAddress: try reader.positiveInt("AUTH_LOGIN_ATTEMPTS_PER_ADDRESS", default: 30),
            keyCreationsPerAccount: try reader.positiveInt("AUTH_API_KEY_CREATIONS_PER_ACCOUNT", default: 20),
            window: .seconds(try reader.positiveSeconds("AUTH_RATE_LIMIT_WINDOW_SECS", default: 300)))
    }
}

/// A sliding-window counter per key. Memory stays bounded: a key's old attempts are dropped when it
/// is touched, and idle keys are swept once the table grows past `sweepThreshold`.
actor SlidingWindowLimiter {
    private var attempts: [String: [ContinuousClock.Instant]] = [:]
    private let window: Duration
    private let sweepThreshold = 10_000

    init(window: Duration) {
        self.window = window
    }

    /// Records an attempt for `key` if fewer than `limit` are in the window; otherwise returns how
    /// long until one leaves it.
    func admit(_ key: String, limit: Int) -> Duration? {
        let now = ContinuousClock.now
        var recent = attempts[key, default: []].filter { now - $0 < window }
        if recent.count >= limit, let oldest = recent.first {
            attempts[key] = recent
            return window - (now - oldest)
        }
        recent.append(now)
        attempts[key] = recent
        if attempts.count > sweepThreshold { sweep(now: now) }
        return nil
    }

    private func sweep(now: ContinuousClock.Instant) {
        attempts = attempts.filter { _, times in times.last.map { now - $0 < window } ?? false }
    }
}
