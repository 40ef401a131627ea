import CPermDrift
import Glibc

/// A mutex with one condition variable, for the hand-over of work between the walk's threads.
final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal; call only with the lock held (inside `withLock`).
    func wait() { pthread_cond_wait(condition, mutex) }

    func signal() { pthread_cond_signal(condition) }

    func broadcast() { pthread_cond_broadcast(condition) }
}

/// A value behind a pthread mutex. (Synchronization's `Mutex` would do, but on Linux it locks with raw
/// futex calls that ThreadSanitizer cannot see, so every access it guards would be reported as a race.)
final class Locked<Value>: @unchecked Sendable {
    private let monitor = Monitor()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try monitor.withLock { try body(&value) }
    }
}

/// Runs a body on several threads at once: index 0 on the calling thread, the others on threads started
/// here (which inherit the caller's Landlock domain and capabilities), and returns when all are done.
enum WorkerThreads {
    /// The number of CPUs this process may run on.
    static var availableCPUs: Int { Int(pd_available_cpus()) }

    private final class Job: @unchecked Sendable {
        let index: Int
        let body: @Sendable (Int) -> Void
        init(index: Int, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }

    /// Returns how many threads ran the body (a thread that cannot be started is skipped: the others
    /// share its work).
    @discardableResult
    static func run(count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Int {
        var threads = [pthread_t]()
        for i in 1..<max(count, 1) {
            let job = Unmanaged.passRetained(Job(index: i, body: body))
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { raw in
                    let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                    job.body(job.index)
                    return nil
                }, job.toOpaque())
            if started == 0 { threads.append(thread) } else { job.release() }
        }
        body(0)
        for thread in threads { pthread_join(thread, nil) }
        return threads.count + 1
    }
}
