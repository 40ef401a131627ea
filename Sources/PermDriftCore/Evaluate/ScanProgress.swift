/// Progress of a long scan, for people at a terminal: each walk thread counts entries on its own and adds
/// them here every `batch` entries; the clock is read then, and progress reported at most once per
/// `interval` once the scan has run for `delay`.
public final class ScanProgress: @unchecked Sendable {
    public struct Snapshot: Sendable {
        public let entries: Int
        public let seconds: Double
        public let root: HostPath
        public var rate: Double { seconds > 0 ? Double(entries) / seconds : 0 }
    }

    /// When progress is drawn: not before the scan has run `delay` seconds, then at most once every
    /// `interval` seconds, the walk threads adding their counts every `batch` entries.
    public struct Timing: Sendable, Equatable {
        public var delay: Double
        public var interval: Double
        public var batch: Int
        /// For people: a scan shorter than a second shows nothing; a longer one, twice a second.
        public static let standard = Timing(delay: 1, interval: 0.5, batch: 4096)

        public init(delay: Double, interval: Double, batch: Int) {
            self.delay = delay
            self.interval = interval
            self.batch = batch
        }

        /// The timing set by `PERMDRIFT_PROGRESS_TIMING=DELAY,INTERVAL,BATCH` (seconds, seconds, entries),
        /// which only the test suite sets, so that it can see progress on a small tree on any machine;
        /// `nil` when `text` is not three such numbers.
        public init?(environment text: String) {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 3, let delay = Double(parts[0]), let interval = Double(parts[1]),
                let batch = Int(parts[2]), delay >= 0, interval >= 0, delay.isFinite, interval.isFinite,
                batch >= 1
            else { return nil }
            self.init(delay: delay, interval: interval, batch: batch)
        }
    }

    public let timing: Timing
    private let report: (Snapshot) -> Void
    private let started = ScanProgress.monotonic()
    private struct State {
        var lastReport: Double?
        var entries = 0
        var root = HostPath("/")
        var reported = false
    }
    private let state = Locked(State())
    public var reported: Bool { state.withLock { $0.reported } }

    public init(timing: Timing = .standard, report: @escaping (Snapshot) -> Void) {
        self.timing = timing
        self.report = report
    }

    /// Counts `count` more entries, made in scan root `root`, and reports when it is time.
    func add(_ count: Int, root: HostPath? = nil) {
        guard count > 0 else { return }
        let now = Self.monotonic() - started
        state.withLock { s in
            s.entries += count
            if let root { s.root = root }
            guard now >= timing.delay else { return }
            if let last = s.lastReport, now - last < timing.interval { return }
            s.lastReport = now
            s.reported = true
            // Under the lock: one thread writes to the terminal at a time.
            report(Snapshot(entries: s.entries, seconds: now, root: s.root))
        }
    }

    static func monotonic() -> Double { SystemClock.monotonicSeconds() }
}
