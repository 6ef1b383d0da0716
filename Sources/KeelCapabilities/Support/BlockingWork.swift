import KeelCore
import NIOPosix
import Synchronization

/// A flag that asynchronous code raises and synchronous work polls, to stop early.
final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    init() {}

    var isRaised: Bool { raised.load(ordering: .relaxed) }

    func raise() { raised.store(true, ordering: .relaxed) }
}

/// Runs CPU-bound or blocking tool work on a small dedicated thread pool instead of the Swift
/// concurrency cooperative pool, whose few threads (one per core) also serve every HTTP request:
/// work that holds one of them freezes the server (`/health` included).
///
/// The caller is resumed the moment its task is cancelled — it does not wait for the work. The
/// work sees the cancellation through the `CancellationFlag` it is handed and must poll it often
/// (the grep matcher polls per line and every 1,024 scalars), so abandoned work ends within one
/// poll interval instead of occupying a pool thread. Work still queued when cancelled never runs.
enum BlockingWork {
    /// Threads of the pool: enough for a couple of concurrent tool calls, few enough that
    /// runaway work cannot take every core from the server.
    static let threadCount = 2

    /// Started once and kept for the life of the process, like NIO's own singleton pools.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    /// Runs `work` on the pool and returns its result; throws `CancellationError` at once when the
    /// calling task is cancelled (raising the flag `work` polls).
    static func run<T: Sendable>(_ work: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        let outcome = FirstOutcome<Result<T, any Error>>()
        return try await withTaskCancellationHandler {
            pool.submit { state in
                guard case .active = state, !flag.isRaised else {
                    outcome.complete(.failure(CancellationError()))
                    return
                }
                do { outcome.complete(.success(try work(flag))) } catch { outcome.complete(.failure(error)) }
            }
            return try await outcome.value().get()
        } onCancel: {
            flag.raise()
            outcome.complete(.failure(CancellationError()))
        }
    }
}
