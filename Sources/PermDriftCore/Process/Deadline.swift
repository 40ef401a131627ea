/// A run's deadline. A filesystem that hangs (a FUSE mount an agent controls) can block a system call
/// forever; when the deadline passes, a watchdog thread writes `message`, removes `reports` (they must
/// not stand in for this run) and ends the process with status 2 — so the run never hangs, and never
/// looks like "no drift". The watchdog restricts itself with the same Landlock ruleset as the scan.
public enum Deadline {
    public static func start(seconds: Double, message: String, reports: [String]) -> Result<Void, Errno> {
        Watchdog.start(seconds: seconds, message: message, reports: reports)
    }

    /// A file the watchdog writes in `directory` when it fires, before it ends the process (the
    /// supervisor's note that its worker is stuck). Set before `start`.
    public static func leaveMarker(in directory: FileDescriptor, name: String, text: String) -> Result<Void, Errno> {
        Watchdog.setMarker(in: directory, name: name, text: text)
    }

    /// Writes a report the watchdog would remove, with the watchdog held off meanwhile, so that a report
    /// is never put in place after the watchdog removed the reports. Returns false without writing when
    /// the deadline has passed (the watchdog is ending the run).
    public static func whileWritingReport(_ writeReport: () throws -> Void) rethrows -> Bool {
        guard Watchdog.beginReport() else { return false }
        defer { Watchdog.endReport() }
        try writeReport()
        return true
    }

    /// The scan has finished and its result is recorded: the watchdog no longer acts. What remains (alert
    /// delivery) has bounded timeouts of its own, and must not cost the finished scan its reports. In a
    /// supervised worker this also tells the supervisor (`WorkerReport.scanRecorded`), which disarms its
    /// own watchdog in turn.
    public static func disarm() {
        Watchdog.disarm()
        Supervisor.scanRecorded()
    }
}
