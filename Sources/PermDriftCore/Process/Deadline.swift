import Glibc
import CPermDrift

/// A run's deadline. A filesystem that hangs (a FUSE mount an agent controls) can block a system call
/// forever; when the deadline passes, a watchdog thread writes `message`, removes `reports` (they must
/// not stand in for this run) and ends the process with status 2 — so the run never hangs, and never
/// looks like "no drift". The watchdog restricts itself with the same Landlock ruleset as the scan.
public enum Deadline {
    public static func start(seconds: Double, message: String, reports: [String]) -> Result<Void, Errno> {
        var cPaths = reports.map { strdup($0) }
        defer { cPaths.forEach { free($0) } }
        let r = cPaths.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { paths in
                pd_watchdog_start(seconds, message, paths, Int32(reports.count))
            }
        }
        return r == 0 ? .success(()) : .failure(.current)
    }

    /// A file the watchdog writes in `directory` when it fires, before it ends the process (the
    /// supervisor's note that its worker is stuck). Set before `start`.
    public static func leaveMarker(in directory: Int32, name: String, text: String) -> Result<Void, Errno> {
        pd_watchdog_marker(directory, name, text) == 0 ? .success(()) : .failure(.current)
    }

    /// Writes a report the watchdog would remove, with the watchdog held off meanwhile, so that a report
    /// is never put in place after the watchdog removed the reports. Returns false without writing when
    /// the deadline has passed (the watchdog is ending the run).
    public static func whileWritingReport(_ write: () throws -> Void) rethrows -> Bool {
        guard pd_watchdog_begin_report() == 0 else { return false }
        defer { pd_watchdog_end_report() }
        try write()
        return true
    }

    /// The scan has finished and its result is recorded: the watchdog no longer acts. What remains (alert
    /// delivery) has bounded timeouts of its own, and must not cost the finished scan its reports. In a
    /// supervised worker this also tells the supervisor (`WorkerReport.scanRecorded`), which disarms its
    /// own watchdog in turn.
    public static func disarm() {
        pd_watchdog_disarm()
        Supervisor.scanRecorded()
    }
}
