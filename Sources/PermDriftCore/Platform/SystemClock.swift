import CPermDrift
import Glibc

/// The clocks permdrift reads.
enum SystemClock {
    /// Seconds on the monotonic clock (for durations and progress).
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Whole seconds of the coarse real-time clock, the one the kernel stamps ctime from (0 when it
    /// cannot be read).
    static func coarseRealtimeSeconds() -> Int64 { pd_coarse_realtime_seconds() }
}
