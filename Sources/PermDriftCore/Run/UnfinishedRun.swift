public import Foundation

/// A scan that did not finish, recorded by its supervisor after the worker is gone: its watchdog ended
/// it at the deadline, or a signal ended it (the out-of-memory killer at the unit's MemoryMax=) before
/// its result was recorded. The state directory then says the scan did not finish, so the
/// PermdriftScanIncomplete alert waits for delivery, the drift alerts that fired stay firing (nothing
/// was re-checked), and the metrics say the last run was incomplete. Without this, a filesystem slow
/// enough to outlast every deadline would leave the last alerts to expire in Alertmanager as if resolved.
public struct UnfinishedRun {
    /// Why the scan did not finish, as the reports and alerts say it.
    public var reason: String
    public var startedAt: Date
    /// The directory that stood for `/`.
    public var rootDirectory: String
    /// The state directory, if the run has one.
    public var statePath: String?
    /// The metrics textfile, if the run writes one.
    public var textfile: String?
    /// Whether the metrics count alerts waiting for delivery (`ScanSettings.countsPendingAlerts`).
    public var countsPendingAlerts: Bool
    /// Reports of an earlier run that this one, once it holds the lock, removes (the configuration's).
    public var staleReports: [ReportOutput]
    /// The worker's lock goes with it, but a notify it started may hold the lock a moment: this many
    /// tries, `retryInterval` apart.
    public var lockAttempts = 20
    public var retryInterval: Duration = .milliseconds(100)

    public init(
        reason: String, startedAt: Date, rootDirectory: String, statePath: String?, textfile: String?,
        countsPendingAlerts: Bool, staleReports: [ReportOutput]
    ) {
        self.reason = reason
        self.startedAt = startedAt
        self.rootDirectory = rootDirectory
        self.statePath = statePath
        self.textfile = textfile
        self.countsPendingAlerts = countsPendingAlerts
        self.staleReports = staleReports
    }

    /// The unfinished run of a scan with these settings.
    public init(_ settings: ScanSettings, startedAt: Date, reason: String) {
        self.init(
            reason: reason, startedAt: startedAt, rootDirectory: settings.options.host.root ?? "/",
            statePath: settings.statePath, textfile: settings.textfile,
            countsPendingAlerts: settings.countsPendingAlerts, staleReports: settings.configuredReports)
    }

    /// The reason of a scan that its deadline of `seconds` ended.
    public static func pastDeadline(_ seconds: Double) -> String {
        "the scan did not finish within \(seconds) seconds (a filesystem may hang or be too slow); nothing it read was recorded"
    }

    /// What was recorded.
    public enum Outcome: Sendable, Equatable {
        /// In the state directory: the findings kept firing and the alerts to deliver.
        case recorded(kept: Int, pending: Int)
        /// No state directory: only the metrics say it (when there is a textfile).
        case metricsOnly
        /// Nothing: the lock stayed held, or the state cannot be read or written (said on the console).
        case notRecorded
    }

    /// Records the unfinished run.
    @discardableResult
    public func record(console: RunConsole) -> Outcome {
        guard let path = statePath else {
            if let textfile {
                let result = ScanResult.unfinished(
                    reason: reason, rootDirectory: rootDirectory, startedAt: startedAt,
                    baselineName: "", baselineSHA256: String(repeating: "0", count: 64))
                _ = ReportFiles.writeMetrics(textfile, run: RunSummary(result), lastSuccess: nil, pending: nil, console: console)
            }
            return .metricsOnly
        }
        var directory: StateDirectory?
        for attempt in 0..<lockAttempts {
            do {
                let d = try StateDirectory(path: path)
                try d.lock()
                directory = d
                break
            } catch .busy {
                if attempt < lockAttempts - 1 { CurrentProcess.sleep(for: retryInterval) }
            } catch {
                console.error("permdrift: cannot record the unfinished scan in the state directory: \(error)")
                return .notRecorded
            }
        }
        guard let directory else {
            console.error("permdrift: cannot record the unfinished scan: another permdrift run holds the state directory's lock")
            return .notRecorded
        }
        defer { directory.unlock() }
        // This run holds the lock: the configuration's reports of an earlier run are its to remove.
        ReportFiles.removeStale(staleReports, console: console)
        var ledger: FindingLedger
        switch directory.loadLedger() {
        case .missing: ledger = FindingLedger()
        case .loaded(let l): ledger = l
        case .corrupt:
            console.error("permdrift: the state cannot be trusted; the unfinished scan is not recorded (the next scan starts it anew)")
            return .notRecorded
        }
        let result = ScanResult.unfinished(
            reason: reason, rootDirectory: rootDirectory, startedAt: startedAt,
            baselineName: ledger.lastRun?.baselineName ?? "",
            baselineSHA256: ledger.lastRun?.baselineSHA256 ?? String(repeating: "0", count: 64))
        let now = Date()
        let lifecycle = ledger.record(result, now: now)
        AlertBuilder.updateUnfinished(&ledger, result: result, now: now)
        var outcome = Outcome.notRecorded
        do {
            try directory.saveLedger(ledger)
            console.error(
                "permdrift: recorded the unfinished scan: \(lifecycle.kept.count) finding\(lifecycle.kept.count == 1 ? "" : "s") kept firing; \(ledger.pendingAlerts.count) alert\(ledger.pendingAlerts.count == 1 ? "" : "s") to deliver"
            )
            outcome = .recorded(kept: lifecycle.kept.count, pending: ledger.pendingAlerts.count)
        } catch {
            console.error("permdrift: cannot record the unfinished scan in the state directory: \(error)")
        }
        if let textfile, let run = ledger.lastRun {
            _ = ReportFiles.writeMetrics(
                textfile, run: run, lastSuccess: ledger.lastSuccess,
                pending: countsPendingAlerts ? ledger.pendingAlerts.count : nil, console: console)
        }
        return outcome
    }
}
