import Foundation

/// One scan run in the worker (see `Supervisor` for the processes around it): the watchdog, the
/// configuration, the state directory and its lock, the ledger of earlier findings, the scan itself
/// (`ScanRun+Scan.swift`), the findings' lifecycle and alerts, the metrics, and the courier that delivers
/// the alerts. Messages go to the console as they happen; the outcome says how the run ended.
public struct ScanRun {
    public let options: ScanOptions
    public let console: RunConsole

    /// The deadline when `--deadline` is not given: 25 minutes.
    public static let defaultDeadline = 1500.0

    public init(options: ScanOptions, console: RunConsole = .standard) {
        self.options = options
        self.console = console
    }

    /// How a run ended.
    public struct Outcome {
        /// The exit status (`ExitStatus`).
        public var status: Int32
        /// The scan's result, when one was produced (also for a rejected baseline).
        public var result: ScanResult?
        /// The ledger as this run saved it in the state directory; nil when nothing was recorded.
        public var recorded: FindingLedger?
    }

    /// Runs the scan. A run that produced no result leaves no report of an earlier run in `--output`'s
    /// files (the configuration's are removed only by a run that holds the lock).
    public func run() -> Outcome {
        do {
            return try runWithWatchdog()
        } catch {
            if error.status == ExitStatus.untrusted { ReportFiles.removeStale(options.outputs, console: console) }
            return Outcome(status: error.status, result: nil, recorded: nil)
        }
    }

    private func runWithWatchdog() throws(RunExit) -> Outcome {
        // The watchdog starts first: loading accounts through NSS can hang as well as a filesystem.
        let limit = options.deadlineSeconds
        let message =
            (RunConsole.journal ? "<3>" : "")
            + "permdrift: the scan did not finish within \(limit) seconds (a filesystem may hang); the result cannot be trusted\n"
        if case .failure(let e) = Deadline.start(seconds: limit, message: message, reports: options.outputs.map(\.path)) {
            console.error("permdrift: cannot start the run's watchdog: \(e)")
            throw RunExit(ExitStatus.untrusted)
        }
        let settings = ScanSettings(options: options, configuration: try options.configuration.load(console: console))
        // The state directory and its lock come first: a second run stops here, having touched nothing.
        let state = try settings.statePath.map { path throws(RunExit) in
            try StateAccess.lock(path, fromConfiguration: settings.stateFromConfiguration, console: console)
        }
        if settings.delivers && state == nil {
            console.error(
                "permdrift: --alertmanager needs --state-dir (or state-directory: in the configuration): undelivered alerts wait there")
            throw RunExit(ExitStatus.usage)
        }
        // The findings of earlier runs, to tell new drift from old and to resolve what was fixed.
        var ledger: FindingLedger?
        var stateTrusted = true
        if let state {
            switch state.loadLedger() {
            case .missing: ledger = FindingLedger()
            case .loaded(let l): ledger = l
            case .corrupt(let why, let keptAs):
                console.error(
                    "permdrift: the state cannot be trusted: \(why)\(keptAs.map { "; kept as \(TerminalText.escape($0))" } ?? ""); starting it anew (every finding counts as new, and alerts resolved since the last good state are not resolved until Alertmanager's endsAt)"
                )
                ledger = FindingLedger()
                stateTrusted = false
            }
        }
        // A stuck scan's note was removed with the lock taken: notify sent PermdriftScanIncomplete for it
        // without recording it, so it goes into the outbox now, for this run to resolve or renew.
        if let state, state.clearedStuckNote, var l = ledger {
            AlertBuilder.rememberStuck(&l, now: Date())
            ledger = l
        }
        // Delivery needs the network and files the sandbox closes: a notify process started now, before
        // the sandbox, waits for the scan to record its alerts and then sends them.
        var courier: Courier?
        if settings.delivers, let statePath = settings.statePath {
            // A bad URL or credential file fails now, before scanning.
            _ = try options.alerting.endpoint(settings.configuration, console: console)
            switch Courier.start(settings.courierArguments(statePath: statePath)) {
            case .success(let c): courier = c
            case .failure(let e):
                console.error("permdrift: \(e)")
                throw RunExit(ExitStatus.untrusted)
            }
        }
        return try withExtendedLifetime(state) { () throws(RunExit) -> Outcome in
            var status: Int32
            let result: ScanResult
            do throws(RunExit) {
                (status, result) = try scan(settings, state: state)
            } catch {
                // This run holds the lock: the configuration's reports of an earlier run are its to remove.
                if error.status == ExitStatus.untrusted && state != nil {
                    ReportFiles.removeStale(settings.configuredReports, console: console)
                }
                throw error
            }
            if !stateTrusted { status = ExitStatus.untrusted }
            var recorded: FindingLedger?
            let run: RunSummary
            if let state, var l = ledger {
                let now = Date()
                let lifecycle = l.record(result, now: now)
                AlertBuilder.update(&l, result: result, now: now, alertOn: settings.alertOn)
                console.info(
                    "permdrift: \(lifecycle.new.count) new, \(lifecycle.stillFiring.count) still firing, \(lifecycle.resolved.count) resolved, \(lifecycle.kept.count) kept (not readable this time); \(l.pendingAlerts.count) alert\(l.pendingAlerts.count == 1 ? "" : "s") to deliver"
                )
                do {
                    try state.saveLedger(l)
                    Supervisor.ledgerRecorded()
                    recorded = l
                } catch {
                    console.error(
                        "permdrift: cannot record the findings in the state directory: \(error); the previous state is kept, and this run's alerts are not recorded"
                    )
                    status = ExitStatus.untrusted
                }
                ledger = l
                run = l.lastRun ?? RunSummary(result)
            } else {
                run = RunSummary(result)
            }
            if let textfile = settings.textfile {
                let lastSuccess = ledger?.lastSuccess ?? (run.complete ? result.finishedAt : nil)
                let pending = settings.countsPendingAlerts ? ledger?.pendingAlerts.count : nil
                if !ReportFiles.writeMetrics(textfile, run: run, lastSuccess: lastSuccess, pending: pending, console: console) {
                    status = ExitStatus.untrusted
                }
            }
            if let courier {
                Deadline.disarm()
                state?.unlock()
                if courier.goAndWait() != 0 { status = ExitStatus.untrusted }
            }
            return Outcome(status: status, result: result, recorded: recorded)
        }
    }
}
