import Glibc

/// Progress of a long scan, for people at a terminal: each walk thread counts entries on its own and adds
/// them here every few thousand; the clock is read then, and progress reported at most twice a second
/// once the scan has run for a second.
public final class ScanProgress: @unchecked Sendable {
    public struct Snapshot: Sendable {
        public let entries: Int
        public let seconds: Double
        public let root: HostPath
        public var rate: Double { seconds > 0 ? Double(entries) / seconds : 0 }
    }

    private let report: (Snapshot) -> Void
    private let started = ScanProgress.monotonic()
    private struct State {
        var lastReport = 0.0
        var entries = 0
        var root = HostPath("/")
        var reported = false
    }
    private let state = Locked(State())
    public var reported: Bool { state.withLock { $0.reported } }

    public init(report: @escaping (Snapshot) -> Void) { self.report = report }

    /// Counts `count` more entries, made in scan root `root`, and reports when it is time.
    func add(_ count: Int, root: HostPath? = nil) {
        guard count > 0 else { return }
        let now = Self.monotonic() - started
        state.withLock { s in
            s.entries += count
            if let root { s.root = root }
            guard now >= 1, now - s.lastReport >= 0.5 else { return }
            s.lastReport = now
            s.reported = true
            // Under the lock: one thread writes to the terminal at a time.
            report(Snapshot(entries: s.entries, seconds: now, root: s.root))
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
