import KeelCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Drains a child process's stdout and stderr, keeping at most `limit` bytes of each.
///
/// Both pipes are read on one dedicated thread with `poll`, so a child that fills one pipe while
/// the other is idle can never deadlock against us, and output past the limit is still read
/// (and dropped) so the child never blocks on a full pipe. The thread is outside the Swift
/// concurrency pool because it blocks. `stop()` ends collection even if a grandchild that
/// escaped the kill still holds a pipe open.
final class OutputCollector: Sendable {
    struct Stream: Sendable {
        var bytes: [UInt8] = []
        var truncated = false
    }

    struct Output: Sendable {
        var stdout = Stream()
        var stderr = Stream()
    }

    private let result = FirstOutcome<Output>()
    private let stopRequested = Atomic<Bool>(false)

    /// Starts reading; the handles are retained by the reader thread until it finishes.
    init(stdout: FileHandle, stderr: FileHandle, limit: Int) {
        let result = self.result
        let thread = Thread { [self] in
            let output = Self.drain([stdout, stderr], limit: limit, shouldStop: { self.stopRequested.load(ordering: .relaxed) })
            result.complete(output)
        }
        thread.name = "keel-python-output"
        thread.start()
    }

    /// Asks the reader to finish within ~100 ms even if the pipes are still open.
    func stop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    func output() async -> Output {
        await result.value()
    }

    private static func drain(_ handles: [FileHandle], limit: Int, shouldStop: () -> Bool) -> Output {
        var streams = [Stream(), Stream()]
        var descriptors = handles.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while descriptors.contains(where: { $0.fd >= 0 }), !shouldStop() {
            let ready = poll(&descriptors, nfds_t(descriptors.count), 100)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptors[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let room = max(0, limit - streams[index].bytes.count)
                    streams[index].bytes.append(contentsOf: buffer.prefix(min(room, count)))
                    if count > room { streams[index].truncated = true }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    // EOF or a broken descriptor: a negative fd makes poll ignore the entry.
                    descriptors[index].fd = -1
                }
            }
        }
        // Keeps the handles (and so their descriptors) open until reading is over.
        withExtendedLifetime(handles) {}
        return Output(stdout: streams[0], stderr: streams[1])
    }
}
