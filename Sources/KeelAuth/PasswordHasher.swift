import HummingbirdBcrypt
import NIOPosix

/// bcrypt (hummingbird-auth's HummingbirdBcrypt) run on NIO's blocking thread pool, because one
/// hash costs about a quarter of a second of CPU at cost 12 and must not hold a cooperative thread.
///
/// bcrypt rather than Argon2id: the package set has no maintained Argon2 implementation, and
/// bcrypt at cost 12 is still the OWASP-accepted choice when Argon2id is unavailable.
struct PasswordHasher: Sendable {
    let cost: Int
    let pool: NIOThreadPool

    init(cost: Int, pool: NIOThreadPool = .singleton) {
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
