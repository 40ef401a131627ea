/// `permdrift fix`, its first, read-only step: as root only, a scan with scan's settings (configuration,
/// baseline, `--root`, state directory and its lock), then the plan (`RepairPlan`) on standard output.
/// It changes nothing: no report files, no state, no alerts, nothing in the tree.
public struct FixRun {
    public let options: ScanOptions
    public let console: RunConsole

    public init(options: ScanOptions, console: RunConsole = .standard) {
        self.options = options
        self.console = console
    }

    /// Prints the plan; returns 0 when there is nothing to repair, 1 when a plan was shown, 2 when the scan
    /// cannot be trusted (incomplete: the plan is shown and says so; a rejected baseline: no plan), 64
    /// when not run as root, 75 when another run holds the state directory's lock.
    public func run(effectiveUserID: UInt32 = CurrentProcess.effectiveUserID) -> Int32 {
        guard effectiveUserID == 0 else {
            console.error(
                "permdrift fix: must run as root (the effective uid is \(effectiveUserID)): only root can see every finding and, later, repair it"
            )
            return ExitStatus.usage
        }
        do throws(RunExit) {
            return try plan()
        } catch {
            return error.status
        }
    }

    private func plan() throws(RunExit) -> Int32 {
        let settings = ScanSettings(options: options, configuration: try options.configuration.load(console: console))
        let state = try settings.statePath.map { path throws(RunExit) in
            try StateAccess.lock(path, fromConfiguration: settings.stateFromConfiguration, console: console)
        }
        return try withExtendedLifetime(state) { () throws(RunExit) -> Int32 in
            let rootDirectory = try options.host.directory(console: console)
            let accounts = try options.host.accounts(console: console)
            let baseline: Baseline
            do {
                baseline = try settings.baseline.load(accounts: accounts, console: console)
                if settings.baseline.mustBeSigned, let state { try BaselineSource.checkSerial(baseline, state: state) }
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
            let result: ScanResult
            do {
                let root = try RootDirectory(path: rootDirectory, threads: options.threads ?? Walker.Options.defaultThreads)
                var scanner = Scanner(baseline: baseline, accounts: accounts, root: root)
                if let threads = options.threads { scanner.options.threads = threads }
                result = try scanner.run()
            } catch {
                console.error("permdrift fix: cannot scan: \(error)")
                throw RunExit(ExitStatus.untrusted)
            }
            let plan = RepairPlan(result)
            console.report(plan.text(accounts: accounts))
            guard result.isComplete else {
                console.error(
                    "permdrift fix: the scan is incomplete (\(result.errorCount) path\(result.errorCount == 1 ? "" : "s") could not be read); the plan cannot be trusted to be whole"
                )
                for e in result.errors.prefix(10) { console.error("permdrift fix: \(e)") }
                return ExitStatus.untrusted
            }
            return plan.isEmpty ? ExitStatus.clean : ExitStatus.drift
        }
    }
}
