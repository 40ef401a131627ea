import ArgumentParser
import Foundation
import PermDriftCore

struct Notify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver the alerts waiting in the state directory to Alertmanager.",
        discussion: """
            Each scan with a state directory records its alerts there: one per host and rule while it \
            fires (sent again on every run), and a resolved one when it stops. notify sends what has not \
            been delivered; what Alertmanager does not accept (refused, an error, a timeout, a redirect) \
            stays for the next try, and notify exits 2. permdrift-notify.service runs it after each scan, \
            with network access to the Alertmanager only. Exit codes: 0 nothing left to deliver, 2 alerts \
            wait, or the state cannot be trusted, 75 another run holds the state directory's lock. When \
            that run is a scan stuck in the kernel (its supervisor left a note), notify sends what fires \
            and that no scan can run, records nothing, and exits 2.
            """
    )

    @OptionGroup var state: StateOptions

    @OptionGroup var alerting: AlertOptions

    /// Set by `scan --alertmanager`, which starts notify before it sandboxes itself: wait for "go" on
    /// standard input (the scan has recorded its alerts); anything else means the scan did not finish.
    @Flag(name: .customLong("after-scan"), help: .hidden)
    var afterScan = false

    func run() throws {
        if afterScan {
            let message = FileHandle.standardInput.readDataToEndOfFile()
            if message != Data("go\n".utf8) {
                // The scan ended without recording a result (its deadline, an error): what earlier runs
                // left undelivered is still sent.
                warn("permdrift: the scan recorded no new alerts; delivering what earlier runs left")
            }
        }
        let settings = try state.configuration()
        guard let path = state.stateDirectory ?? settings.stateDirectory else {
            warn("permdrift: notify needs --state-dir (or state-directory: in the configuration): the alerts wait there")
            throw ExitCode(ExitStatus.usage)
        }
        guard let endpoint = try alerting.endpoint(settings) else {
            warn("permdrift: notify needs --alertmanager URL (or alertmanager: in the configuration)")
            throw ExitCode(ExitStatus.usage)
        }
        let directory: StateDirectory
        switch try openStateDirectoryOrStuck(path, fromConfiguration: state.stateDirectory == nil) {
        case .locked(let d): directory = d
        case .stuck(let d, let lock, let note):
            // Nothing can be recorded while the stuck scan holds the lock; what is firing is sent again all
            // the same (with a renewed endsAt, so Alertmanager does not let it expire), with the reason.
            warn("permdrift: a scan stuck in the kernel (\(note)) holds \(TerminalText.escape(lock)); sending what fires, and that no scan can run, without recording it")
            let ledger: FindingLedger
            if case .loaded(let l) = d.loadLedger(setAside: false) { ledger = l } else { ledger = FindingLedger() }
            let alerts = AlertBuilder.whileStuck(ledger, note: note, now: Date())
            let (accepted, failure) = AlertmanagerClient(endpoint: endpoint).send(alerts)
            if let failure {
                warn("permdrift: cannot deliver alerts to \(endpoint.display): \(failure)")
            } else {
                Log.info("permdrift: delivered \(accepted.count) alert\(accepted.count == 1 ? "" : "s") to \(endpoint.display)")
            }
            throw ExitCode(ExitStatus.untrusted)
        }
        var ledger: FindingLedger
        switch directory.loadLedger() {
        case .missing:
            Log.info("permdrift: no scan has recorded alerts in \(TerminalText.escape(path)) yet; nothing to deliver")
            return
        case .corrupt(let why, let keptAs):
            warn("permdrift: the state cannot be trusted: \(why)\(keptAs.map { "; kept as \(TerminalText.escape($0))" } ?? ""); the next scan starts it anew")
            throw ExitCode(ExitStatus.untrusted)
        case .loaded(let l): ledger = l
        }
        // The lock is not held while talking to Alertmanager (up to its timeout per batch): a scan may run
        // meanwhile. What was accepted is then marked in the state as it stands after re-locking; an
        // alert a scan replaced in between stays pending (OutboxAlert equality).
        directory.unlock()
        let pending = ledger.pendingAlerts
        let (accepted, failure) = AlertmanagerClient(endpoint: endpoint).send(pending)
        do { try directory.lock() } catch .busy(let lock) {
            warn("permdrift: a scan took \(TerminalText.escape(lock)) during the delivery; \(accepted.count) delivered alert\(accepted.count == 1 ? "" : "s") will be sent again")
            throw ExitCode(ExitStatus.untrusted)
        } catch {
            warn("permdrift: cannot lock the state directory again: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        if case .loaded(let current) = directory.loadLedger() { ledger = current }
        // A stuck scan's note was removed when the lock was first taken: the PermdriftScanIncomplete sent
        // while it was stuck goes into the outbox, for the next scan to resolve or renew.
        if directory.clearedStuckNote { AlertBuilder.rememberStuck(&ledger, now: Date()) }
        let delivered = report(accepted: accepted, failure: failure, into: &ledger, endpoint: endpoint)
        var status = delivered ? ExitStatus.clean : ExitStatus.untrusted
        do { try directory.saveLedger(ledger) } catch {
            warn("permdrift: cannot record the delivery in the state directory: \(error); the alerts will be sent again")
            status = ExitStatus.untrusted
        }
        if let textfile = alerting.textfile(settings), let run = ledger.lastRun {
            if !writeTextfile(textfile, run: run, lastSuccess: ledger.lastSuccess, pending: ledger.pendingAlerts.count) {
                status = ExitStatus.untrusted
            }
        }
        throw ExitCode(status)
    }
}
