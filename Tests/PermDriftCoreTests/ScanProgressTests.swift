import Testing

@testable import PermDriftCore

/// The progress line's timing, with delays chosen so that no machine is too fast or too slow for them.
struct ScanProgressTests {
    final class Seen: @unchecked Sendable {
        let counts = Locked([Int]())
    }

    @Test func standardTimingIsASecondThenTwiceASecond() {
        #expect(ScanProgress.Timing.standard == .init(delay: 1, interval: 0.5, batch: 4096))
    }

    @Test func timingFromTheEnvironment() {
        #expect(ScanProgress.Timing(environment: "0,0,1") == .init(delay: 0, interval: 0, batch: 1))
        #expect(ScanProgress.Timing(environment: "2.5,0.25,100") == .init(delay: 2.5, interval: 0.25, batch: 100))
        for bad in ["", "0,0", "0,0,1,1", "a,0,1", "0,0,0", "-1,0,1", "0,-1,1", "inf,0,1", "nan,0,1", "0,0,1.5", " 0,0,1"] {
            #expect(ScanProgress.Timing(environment: bad) == nil, "\(bad)")
        }
    }

    @Test func nothingBeforeTheDelay() {
        let seen = Seen()
        let progress = ScanProgress(timing: .init(delay: 1e9, interval: 0, batch: 1)) { s in seen.counts.withLock { $0.append(s.entries) } }
        for _ in 0..<100 { progress.add(1) }
        #expect(seen.counts.withLock { $0 }.isEmpty)
        #expect(!progress.reported)
    }

    @Test func everyAddWithoutDelayOrInterval() {
        let seen = Seen()
        let progress = ScanProgress(timing: .init(delay: 0, interval: 0, batch: 1)) { s in seen.counts.withLock { $0.append(s.entries) } }
        for _ in 0..<5 { progress.add(2, root: HostPath("/home")) }
        progress.add(0)
        #expect(seen.counts.withLock { $0 } == [2, 4, 6, 8, 10])
        #expect(progress.reported)
    }

    @Test func atMostOncePerInterval() {
        let seen = Seen()
        let progress = ScanProgress(timing: .init(delay: 0, interval: 1e9, batch: 1)) { s in seen.counts.withLock { $0.append(s.entries) } }
        for _ in 0..<5 { progress.add(1) }
        #expect(seen.counts.withLock { $0 } == [1], "the first report, then none within the interval")
    }
}
