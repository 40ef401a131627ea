import Foundation

/// `permdrift fix` (README, "Repair"; docs/design.md, "Repair"): as root only, a scan with scan's
/// settings (configuration, baseline, `--root`, state directory and its lock), then the plan
/// (`RepairPlan`) on standard output. With `--apply` it makes the plan's changes (`RepairApplier`),
/// journals them in the journal directory (`JournalDirectory`) and scans again; `--undo RUN` reverts one fix run
/// (`RepairUndo`). Without either it changes nothing.
public struct FixRun {
    public enum Mode: Sendable, Equatable {
        /// Print the plan and change nothing.
        case plan
        /// Print the plan, ask (unless `confirmed`), make the changes, scan again.
        case apply(confirmed: Bool)
        /// Revert the fix run of this name.
        case undo(String)
    }

    public let options: ScanOptions
    public let mode: Mode
    /// Where `--apply` writes its journal and `--undo` reads it (`JournalDirectory`).
    public let journalDirectory: String
    public let console: RunConsole

    public init(
        options: ScanOptions, mode: Mode = .plan, journalDirectory: String = JournalDirectory.standardPath,
        console: RunConsole = .standard
    ) {
        self.options = options
        self.mode = mode
        self.journalDirectory = journalDirectory
        self.console = console
    }

    /// Returns 0 when nothing is left to repair (after `--apply`: the re-scan is clean; after `--undo`:
    /// every change was reverted), 1 when drift is left (or a change was skipped), 2 when the scan
    /// cannot be trusted, 64 when not run as root or when the flags cannot be carried out, 75 when
    /// another run holds the state directory's lock.
    public func run(effectiveUserID: UInt32 = CurrentProcess.effectiveUserID) -> Int32 {
        guard effectiveUserID == 0 else {
            console.error(
                "permdrift fix: must run as root (the effective uid is \(effectiveUserID)): only root can see every finding and repair it"
            )
            return ExitStatus.usage
        }
        do throws(RunExit) {
            return try fix()
        } catch {
            return error.status
        }
    }

    private func fix() throws(RunExit) -> Int32 {
        let settings = ScanSettings(options: options, configuration: try options.configuration.load(console: console))
        let state = try settings.statePath.map { path throws(RunExit) in
            // The service's own directory, owned by its account: fix takes its lock (so that no scan runs
            // while it changes the tree) and reads its baseline serial, and writes nothing else there.
            try StateAccess.lock(path, fromConfiguration: settings.stateFromConfiguration, serviceOwned: true, console: console)
        }
        if mode != .plan, !InodeHandle.procIsMounted {
            console.error(
                "permdrift fix: /proc is not mounted here (procfs): fix makes its changes through /proc/self/fd, never through a path, so it changes nothing without it"
            )
            throw RunExit(ExitStatus.untrusted)
        }
        let journals = try mode == .plan ? nil : JournalDirectory.open(journalDirectory, console: console)
        return try withExtendedLifetime((state, journals)) { () throws(RunExit) -> Int32 in
            if case .undo(let run) = mode, let journals {
                return try FixUndo(options: options, console: console).undo(run, journals: journals)
            }
            let rootDirectory = try options.host.directory(console: console)
            let accounts = try options.host.accounts(console: console)
            let baseline = try loadBaseline(settings, accounts: accounts, state: state, journals: journals)
            let root = try openRoot(rootDirectory)
            let result = try scan(baseline, accounts: accounts, root: root)
            let plan = RepairPlan(result)
            let applying = mode != .plan
            console.report(plan.text(accounts: accounts, applying: applying))
            guard result.isComplete else {
                console.error(
                    "permdrift fix: the scan is incomplete (\(result.errorCount) path\(result.errorCount == 1 ? "" : "s") could not be read); the plan cannot be trusted to be whole\(applying ? ", so nothing was changed" : "")"
                )
                for e in result.errors.prefix(10) { console.error("permdrift fix: \(e)") }
                return ExitStatus.untrusted
            }
            guard case .apply(let confirmed) = mode, let journals else { return plan.isEmpty ? ExitStatus.clean : ExitStatus.drift }
            let changes = plan.actions.filter { $0.refusal == nil }
            if changes.isEmpty {
                console.report("permdrift fix: there is nothing fix can change.\n")
                return plan.isEmpty ? ExitStatus.clean : ExitStatus.drift
            }
            if !confirmed, let refused = askToApply(changes.count, paths: Set(changes.map(\.path)).count) { return refused }
            #if DEBUG
                // Debug builds only, for tests: the process stops itself (SIGSTOP) between the plan and its
                // changes, so that a test can swap what the scan saw on that event, not after a guess.
                if Environment.value("PERMDRIFT_TEST_FIX_STOP_BEFORE_APPLY") != nil { CurrentProcess.stop() }
            #endif
            return try apply(plan, baseline: baseline, accounts: accounts, root: root, journals: journals)
        }
    }

    /// Asks on the terminal: nil when the answer is yes, else the exit status (1 for any other answer,
    /// 64 when standard input is not a terminal and so no one can answer).
    private func askToApply(_ changes: Int, paths: Int) -> Int32? {
        guard StandardStreams.inputIsTerminal else {
            console.error(
                "permdrift fix: --apply asks before it changes anything, and standard input is not a terminal; pass --yes to apply without asking. Nothing was changed."
            )
            return ExitStatus.usage
        }
        StandardStreams.writeError(
            "Make \(changes) change\(changes == 1 ? "" : "s") on \(paths) path\(paths == 1 ? "" : "s")? Type yes to apply: ")
        let answer = StandardStreams.readInputLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        if answer == "yes" || answer == "y" { return nil }
        console.error("permdrift fix: nothing was changed.")
        return ExitStatus.drift
    }

    /// The baseline, and for a signed one the serial check: against the service's state directory (read
    /// only: it is the service's record, and a plan changes nothing), and with `--apply` against and into
    /// root's journal directory, whose serial the service account cannot lower.
    private func loadBaseline(_ settings: ScanSettings, accounts: AccountDatabase, state: StateDirectory?, journals: StateDirectory?)
        throws(RunExit) -> Baseline
    {
        do {
            let baseline = try settings.baseline.load(accounts: accounts, console: console)
            if settings.baseline.mustBeSigned {
                if let state { try BaselineSource.checkSerial(baseline, state: state, record: false) }
                if let journals { try BaselineSource.checkSerial(baseline, state: journals) }
            }
            return baseline
        } catch let rejected as BaselineSource.Rejected {
            console.error(
                "permdrift fix: baseline rejected: \(TerminalText.escape(rejected.source)): \(rejected.reason); there is nothing to plan against"
            )
            throw RunExit(ExitStatus.untrusted)
        } catch let exit as RunExit {
            throw exit
        } catch {
            console.error("permdrift fix: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
    }

    private func openRoot(_ path: String) throws(RunExit) -> RootDirectory {
        do { return try RootDirectory(path: path, threads: options.threads ?? Walker.Options.defaultThreads) } catch {
            console.error("permdrift fix: cannot scan: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
    }

    func scan(_ baseline: Baseline, accounts: AccountDatabase, root: RootDirectory) throws(RunExit) -> ScanResult {
        do {
            var scanner = Scanner(baseline: baseline, accounts: accounts, root: root)
            if let threads = options.threads { scanner.options.threads = threads }
            return try scanner.run()
        } catch {
            console.error("permdrift fix: cannot scan: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
    }
}
