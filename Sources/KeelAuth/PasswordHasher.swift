import HummingbirdBcrypt
import NIOPosix

/// bcrypt (hummingbird-auth's HummingbirdBcrypt) run on a blocking thread pool of its own, because
/// one hash costs about a quarter of a second of CPU at cost 12 and must not hold a cooperative
/// thread — and sign-ins must not queue behind other blocking work (a `web_fetch` whose DNS
/// lookup hangs used to share NIO's singleton pool with them).
///
/// bcrypt rather than Argon2id: the package set has no maintained Argon2 implementation, and
/// bcrypt at cost 12 is still the OWASP-accepted choice when Argon2id is unavailable.
struct PasswordHasher: Sendable {
    let cost: Int
    let pool: NIOThreadPool

    /// Two threads: sign-ins and sign-ups at most two hashes at a time per process.
    static let sharedPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    init(cost: Int, pool: NIOThreadPool = PasswordHasher.sharedPool) {
        self.cost = cost
        self.pool = pool
    }

    func hash(_ password: String) async throws -> String {
        let cost = UInt8(clamping: cost)
        return try await pool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        try await pool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
