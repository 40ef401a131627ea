import Foundation

/// `permdrift notify`: delivers the alerts waiting in the state directory to Alertmanager and records
/// what it accepted. As the courier (`afterScan`), it first waits for the scan's go-ahead.
public struct NotifyRun {
    public var configuration = ConfigurationChoice(file: nil, none: false, defaultApplies: true)
    /// `--state-dir`.
    public var stateDirectory: String?
    public var alerting = AlertFlags()
    /// Started by a scan as its courier (`Courier`).
    public var afterScan = false
    public let console: RunConsole

    public init(console: RunConsole = .standard) { self.console = console }

    /// Delivers; returns the exit status: 0 nothing left to deliver, 2 alerts wait or the state cannot be
    /// trusted, 64 no state directory or Alertmanager, 75 another run holds the lock.
    public func run() -> Int32 {
        do { return try deliver() } catch { return error.status }
    }

    private func deliver() throws(RunExit) -> Int32 {
        if afterScan && !Courier.awaitGoAhead() {
            // The scan ended without recording a result (its deadline, an error): what earlier runs
            // left undelivered is still sent.
            console.error("permdrift: the scan recorded no new alerts; delivering what earlier runs left")
        }
        let settings = try configuration.load(console: console)
        guard let path = stateDirectory ?? settings.stateDirectory else {
            console.error("permdrift: notify needs --state-dir (or state-directory: in the configuration): the alerts wait there")
            throw RunExit(ExitStatus.usage)
        }
        guard let endpoint = try alerting.endpoint(settings, console: console) else {
            console.error("permdrift: notify needs --alertmanager URL (or alertmanager: in the configuration)")
            throw RunExit(ExitStatus.usage)
        }
        let directory: StateDirectory
        switch try StateAccess.open(path, fromConfiguration: stateDirectory == nil, console: console) {
        case .locked(let d): directory = d
        case .stuck(let d, let lock, let note):
            deliverWhileStuck(d, lock: lock, note: note, endpoint: endpoint)
            throw RunExit(ExitStatus.untrusted)
        }
        var ledger: FindingLedger
        switch directory.loadLedger() {
        case .missing:
            console.info("permdrift: no scan has recorded alerts in \(TerminalText.escape(path)) yet; nothing to deliver")
            return ExitStatus.clean
        case .corrupt(let why, let keptAs):
            console.error(
                "permdrift: the state cannot be trusted: \(why)\(keptAs.map { "; kept as \(TerminalText.escape($0))" } ?? ""); the next scan starts it anew"
            )
            throw RunExit(ExitStatus.untrusted)
        case .loaded(let l): ledger = l
        }
        // The lock is not held while talking to Alertmanager (up to its timeout per batch): a scan may run
        // meanwhile. What was accepted is then marked in the state as it stands after re-locking; an
        // alert a scan replaced in between stays pending (OutboxAlert equality).
        directory.unlock()
        let pending = ledger.pendingAlerts
        let (accepted, failure) = AlertmanagerClient(endpoint: endpoint).send(pending)
        do { try directory.lock() } catch .busy(let lock) {
            console.error(
                "permdrift: a scan took \(TerminalText.escape(lock)) during the delivery; \(accepted.count) delivered alert\(accepted.count == 1 ? "" : "s") will be sent again"
            )
            throw RunExit(ExitStatus.untrusted)
        } catch {
            console.error("permdrift: cannot lock the state directory again: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        if case .loaded(let current) = directory.loadLedger() { ledger = current }
        // A stuck scan's note was removed when the lock was first taken: the PermdriftScanIncomplete sent
        // while it was stuck goes into the outbox, for the next scan to resolve or renew.
        if directory.clearedStuckNote { AlertBuilder.rememberStuck(&ledger, now: Date()) }
        let delivered = record(accepted: accepted, failure: failure, into: &ledger, endpoint: endpoint)
        var status = delivered ? ExitStatus.clean : ExitStatus.untrusted
        do { try directory.saveLedger(ledger) } catch {
            console.error("permdrift: cannot record the delivery in the state directory: \(error); the alerts will be sent again")
            status = ExitStatus.untrusted
        }
        if let textfile = alerting.textfile(settings), let run = ledger.lastRun {
            if !ReportFiles.writeMetrics(
                textfile, run: run, lastSuccess: ledger.lastSuccess, pending: ledger.pendingAlerts.count, console: console)
            {
                status = ExitStatus.untrusted
            }
        }
        return status
    }

    /// Nothing can be recorded while a stuck scan holds the lock; what is firing is sent again all the
    /// same (with a renewed endsAt, so Alertmanager does not let it expire), with the reason.
    private func deliverWhileStuck(_ directory: StateDirectory, lock: String, note: String, endpoint: AlertmanagerEndpoint) {
        console.error(
            "permdrift: a scan stuck in the kernel (\(note)) holds \(TerminalText.escape(lock)); sending what fires, and that no scan can run, without recording it"
        )
        let ledger: FindingLedger
        if case .loaded(let l) = directory.loadLedger(setAside: false) { ledger = l } else { ledger = FindingLedger() }
        let alerts = AlertBuilder.whileStuck(ledger, note: note, now: Date())
        let (accepted, failure) = AlertmanagerClient(endpoint: endpoint).send(alerts)
        if let failure {
            console.error("permdrift: cannot deliver alerts to \(endpoint.display): \(failure)")
        } else {
            console.info("permdrift: delivered \(accepted.count) alert\(accepted.count == 1 ? "" : "s") to \(endpoint.display)")
        }
    }

    /// Records what Alertmanager accepted in the ledger and says what is left; false when anything is.
    private func record(
        accepted: [OutboxAlert], failure: DeliveryError?, into ledger: inout FindingLedger,
        endpoint: AlertmanagerEndpoint
    ) -> Bool {
        AlertBuilder.markDelivered(&ledger, accepted)
        if let failure {
            let left = ledger.pendingAlerts.count
            console.error(
                "permdrift: cannot deliver alerts to \(endpoint.display): \(failure); \(left) alert\(left == 1 ? "" : "s") wait\(left == 1 ? "s" : "") in the state directory for the next delivery"
            )
            return false
        }
        let firing = accepted.filter { !$0.resolved }.count
        if !accepted.isEmpty {
            console.info(
                "permdrift: delivered \(accepted.count) alert\(accepted.count == 1 ? "" : "s") to \(endpoint.display) (\(firing) firing, \(accepted.count - firing) resolved)"
            )
        }
        return true
    }
}
