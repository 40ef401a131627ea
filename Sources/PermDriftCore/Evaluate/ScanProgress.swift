import Glibc

/// Progress of a long scan, for people at a terminal: counted on the walk's hot path (one increment),
/// the clock read only every few thousand entries, and reported at most twice a second once the scan has
/// run for a second.
public final class ScanProgress {
    public struct Snapshot: Sendable {
        public let entries: Int
        public let seconds: Double
        public let root: HostPath
        public var rate: Double { seconds > 0 ? Double(entries) / seconds : 0 }
    }

    private let report: (Snapshot) -> Void
    private let started = ScanProgress.monotonic()
    private var lastReport = 0.0
    private var entries = 0
    private var root = HostPath("/")
    public private(set) var reported = false

    public init(report: @escaping (Snapshot) -> Void) { self.report = report }

    func beginRoot(_ root: HostPath) { self.root = root }

    @inline(__always) func tick() {
        entries += 1
        if entries & 0x1FFF == 0 { check() }
    }

    private func check() {
        let now = Self.monotonic() - started
        guard now >= 1, now - lastReport >= 0.5 else { return }
        lastReport = now
        reported = true
        report(Snapshot(entries: entries, seconds: now, root: root))
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
