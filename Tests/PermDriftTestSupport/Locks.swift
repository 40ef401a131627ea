import Foundation

/// A value shared between threads (a test and a hook, a test and a callback), behind an NSLock: a
/// pthread mutex ThreadSanitizer sees.
public final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// An exclusive `flock(2)` on a file of its own, held until `release()`: keeps tests that change the
/// host (accounts, groups) from overlapping, in this process or in another test run on the machine.
public final class HostLock {
    public let path: String
    private var descriptor: Int32

    /// Waits for the lock at `path` (created 0600 if missing).
    public init(path: String) throws(HarnessError) {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw HarnessError("open \(path): \(String(cString: strerror(errno)))") }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let error = HarnessError("flock \(path): \(String(cString: strerror(errno)))")
                close(descriptor)
                throw error
            }
        }
    }

    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
