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
        var notify = NotifyRun()
        notify.configuration = state.configuration
        notify.stateDirectory = state.stateDirectory
        notify.alerting = alerting.flags
        notify.afterScan = afterScan
        throw ExitCode(notify.run())
    }
}
