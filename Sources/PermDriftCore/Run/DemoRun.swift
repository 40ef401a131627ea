/// `permdrift demo`: builds a throwaway agent host with a few drifts (`DemoHost`), scans it with the
/// built-in baseline and shows the report. It needs root: the demo agents' files are given to their uids.
public struct DemoRun {
    /// Keep the demo host instead of removing it.
    public var keep = false
    /// The report's format.
    public var format: ReportFormat = .text
    public let console: RunConsole

    public init(console: RunConsole = .standard) { self.console = console }

    /// Runs the demo; returns the scan's exit status (1: the drifts were found), or 2 when it cannot run.
    public func run() -> Int32 {
        guard CurrentProcess.effectiveUserID == 0 else {
            console.error("permdrift demo needs root: it creates files owned by the demo agents' uids (chown). Run it with sudo.")
            return ExitStatus.untrusted
        }
        let host: DemoHost
        do { host = try DemoHost.build() } catch {
            console.error("permdrift demo: cannot build the demo host: \(error)")
            return ExitStatus.untrusted
        }
        defer { if !keep { host.remove() } }
        console.report("Demo agent host in \(host.root) (\(keep ? "kept" : "removed afterwards")).\n")
        console.report("Drifts introduced:\n")
        for drift in host.drifts { console.report("  - \(drift)\n") }
        console.report("\n")
        guard case .success(let accounts) = AccountDatabase.load(root: host.root) else {
            console.error("permdrift demo: cannot read the demo host's accounts")
            return ExitStatus.untrusted
        }
        let result: ScanResult
        do {
            let baseline = try BaselineLoader(accounts: accounts)
                .load(Array(BuiltInBaseline.text.utf8), file: "built-in:agent-host.yaml", isBuiltIn: true)
            result = try Scanner(baseline: baseline, accounts: accounts, rootDirectory: host.root).run()
        } catch {
            console.error("permdrift demo: \(error)")
            return ExitStatus.untrusted
        }
        console.report(format.render(result))
        if keep {
            console.report("\nScan it again: permdrift scan --root \(host.root)\n")
        }
        return result.exitCode
    }
}
