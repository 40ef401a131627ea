import CPermDrift
import Glibc

/// The run's watchdog thread (CPermDrift's watchdog.c; `Deadline` is its Swift face): at the deadline it
/// writes its message, removes the reports, leaves its marker, tells a supervisor, and ends the process
/// with status 2, even when the main thread is stuck in the kernel.
enum Watchdog {
    /// The bytes a supervised worker writes to its supervisor (`WorkerReport`), defined once in
    /// CPermDrift.h because the C watchdog writes one of them from its own thread.
    static let scanRecordedByte = UInt8(PD_WORKER_SCAN_RECORDED)
    static let ledgerRecordedByte = UInt8(PD_WORKER_LEDGER_RECORDED)
    static let deadlinePassedByte = UInt8(PD_WORKER_DEADLINE_PASSED)

    /// Starts the watchdog thread (EBUSY when one already runs).
    static func start(seconds: Double, message: String, reports: [String]) -> Result<Void, Errno> {
        var cPaths = reports.map { strdup($0) }
        defer { cPaths.forEach { free($0) } }
        let r = cPaths.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { paths in
                pd_watchdog_start(seconds, message, paths, Int32(reports.count))
            }
        }
        return r == 0 ? .success(()) : .failure(.current)
    }

    /// The file the watchdog writes in the directory `directory` when it fires. Set before `start`.
    static func setMarker(in directory: FileDescriptor, name: String, text: String) -> Result<Void, Errno> {
        pd_watchdog_marker(directory.rawValue, name, text) == 0 ? .success(()) : .failure(.current)
    }

    /// Holds the watchdog off while a report is written; false when the deadline has passed (the
    /// watchdog is ending the run, and no report may be written). `endReport()` follows a true.
    static func beginReport() -> Bool { pd_watchdog_begin_report() == 0 }

    /// Lets the watchdog act again after `beginReport()`.
    static func endReport() { pd_watchdog_end_report() }

    /// The watchdog no longer acts.
    static func disarm() { pd_watchdog_disarm() }

    /// In a supervised worker: the descriptor on which the watchdog tells the supervisor that the
    /// deadline passed (`deadlinePassedByte`) before it ends the run.
    static func notifyOnDeadline(_ fd: FileDescriptor) { pd_watchdog_notify(fd.rawValue) }
}
