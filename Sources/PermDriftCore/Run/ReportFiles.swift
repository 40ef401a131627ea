public import Foundation

/// One more report written to a file: `FORMAT:PATH` (`--output`, the configuration's `outputs:`).
public struct ReportOutput: Sendable, Equatable {
    public let format: ReportFormat
    public let path: String

    public init?(argument: String) {
        guard let colon = argument.firstIndex(of: ":"),
            let format = ReportFormat(rawValue: String(argument[..<colon]))
        else { return nil }
        let path = String(argument[argument.index(after: colon)...])
        guard !path.isEmpty else { return nil }
        self.format = format
        self.path = path
    }
}

/// The files a run leaves besides the state: its reports and the metrics textfile.
public enum ReportFiles {
    /// Writes the report files, each under the watchdog's report lock. False when one could not be written
    /// (it is removed: an earlier run's report must not stand in for it) or the deadline has passed (the
    /// watchdog is ending the run with exit 2 and removes them).
    public static func write(_ result: ScanResult, to outputs: [ReportOutput], console: RunConsole) -> Bool {
        var written = true
        for output in outputs {
            let rendered = output.format.render(result)
            do {
                guard try Deadline.whileWritingReport({ try AtomicFile.write(rendered, to: output.path, mode: 0o600) }) else {
                    return false
                }
            } catch {
                console.error("permdrift: cannot write the \(output.format.rawValue) report: \(error)")
                removeStale([output], console: console)
                written = false
            }
        }
        return written
    }

    /// No result could be produced: reports from an earlier run must not stand in for this one.
    public static func removeStale(_ outputs: [ReportOutput], console: RunConsole) {
        for output in outputs where HostFiles.remove(output.path) {
            console.error("permdrift: removed \(TerminalText.escape(output.path)), which held an earlier run's report")
        }
    }

    /// Writes the metrics file (0644: node_exporter runs as its own user). A failure is reported and makes
    /// the run exit 2: a stale metrics file must not stand in for this run, so it is removed.
    public static func writeMetrics(_ path: String, run: RunSummary, lastSuccess: Date?, pending: Int?, console: RunConsole) -> Bool {
        do {
            try AtomicFile.write(
                PrometheusTextfile.render(run: run, lastSuccess: lastSuccess, pendingAlerts: pending), to: path, mode: 0o644)
            return true
        } catch {
            console.error("permdrift: cannot write the metrics file: \(error)")
            if HostFiles.remove(path) {
                console.error("permdrift: removed \(TerminalText.escape(path)), which held an earlier run's metrics")
            }
            return false
        }
    }
}
