import Foundation

extension ScanRun {
    /// Loads the baseline, sandboxes the process and scans; writes the reports. Returns the exit status
    /// and the result, or throws when no result could be produced. A rejected signed baseline is a result
    /// of its own (a critical `baseline-rejected` finding), reported like any other.
    func scan(_ settings: ScanSettings, state: StateDirectory?) throws(RunExit) -> (Int32, ScanResult) {
        let rootDirectory = try options.host.directory(console: console)
        let accounts = try options.host.accounts(console: console)
        let baseline: Baseline
        do {
            baseline = try settings.baseline.load(accounts: accounts, console: console)
            if settings.baseline.mustBeSigned, let state {
                do { try BaselineSource.checkSerial(baseline, state: state) } catch {
                    throw BaselineSource.Rejected(source: baseline.origin.source, bytes: nil, reason: error.description)
                }
            }
        } catch let rejected as BaselineSource.Rejected {
            console.error("permdrift: baseline rejected: \(TerminalText.escape(rejected.source)): \(rejected.reason)")
            var result = ScanResult.rejectedBaseline(
                source: rejected.source, bytes: rejected.bytes, reason: rejected.reason,
                rootDirectory: rootDirectory)
            result.failOn = settings.failOn
            _ = ReportFiles.write(result, to: settings.outputs, console: console)
            console.report(options.format.render(result))
            return (ExitStatus.untrusted, result)
        } catch let exit as RunExit {
            throw exit
        } catch {
            console.error("permdrift: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        let root: RootDirectory
        do { root = try RootDirectory(path: rootDirectory, threads: options.threads ?? Walker.Options.defaultThreads) } catch {
            console.error("permdrift: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        let sandbox = try applySandbox(root: root, baseline: baseline, state: state, settings: settings)
        var result: ScanResult
        do {
            var scanner = Scanner(baseline: baseline, accounts: accounts, root: root)
            scanner.progress = terminalProgress()
            if let threads = options.threads { scanner.options.threads = threads }
            result = try scanner.run()
            if scanner.progress?.reported == true { StandardStreams.writeError("\r\u{1B}[K") }
        } catch {
            console.error("permdrift: cannot scan: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        result.failOn = settings.failOn
        result.sandboxed = sandbox.isEnforced
        if !sandbox.isEnforced { result.notices.append("\(sandbox); the scan ran without it") }
        var status = result.exitCode
        // Written even for an incomplete scan: the report itself says it cannot be trusted.
        if !ReportFiles.write(result, to: settings.outputs, console: console) { status = ExitStatus.untrusted }
        console.report(options.format.render(result))
        if !result.isComplete {
            console.error(
                "permdrift: the scan is incomplete (\(result.errors.count) path\(result.errors.count == 1 ? "" : "s") could not be read); the result cannot be trusted"
            )
        }
        return (status, result)
    }

    /// Restricts the process once everything it reads is loaded: directory listings under the scan
    /// roots only, writes in the state and report directories only.
    func applySandbox(root: RootDirectory, baseline: Baseline, state: StateDirectory?, settings: ScanSettings) throws(RunExit)
        -> SandboxStatus
    {
        ScanResult.prepareForSandbox()
        var plan = Sandbox.Plan()
        for scanRoot in baseline.roots {
            if let fd = Sandbox.openBeneath(root.descriptor, scanRoot) { plan.listable.append(fd) }
        }
        let directories = (settings.outputs.map(\.path) + (settings.textfile.map { [$0] } ?? [])).map { path -> String in
            let directory = (path as NSString).deletingLastPathComponent
            return directory.isEmpty ? "." : directory
        }
        plan.state = state?.pathDescriptor()
        for directory in directories {
            switch Sandbox.openDirectory(directory) {
            case .success(let fd): plan.writable.append(fd)
            case .failure(let e):
                Sandbox.close(plan)
                console.error("permdrift: cannot open a report directory: \(e)")
                throw RunExit(ExitStatus.untrusted)
            }
        }
        defer { Sandbox.close(plan) }
        // Read before the sandbox closes /proc (the supervisor has dropped its capabilities long since).
        let probe = options.sandboxProbe
        let supervisorCapabilities = probe != nil ? Supervisor.effectiveCapabilities(of: CurrentProcess.parentID) : nil
        let ownCapabilities = probe != nil ? Supervisor.effectiveCapabilities(of: CurrentProcess.id) : nil
        let status = Sandbox.restrict(plan)
        if !status.isEnforced && settings.requireSandbox {
            console.error("permdrift: --require-sandbox: \(status); refusing to scan with CAP_DAC_READ_SEARCH and no sandbox")
            throw RunExit(ExitStatus.untrusted)
        }
        console.info("permdrift: \(status)")
        if probe != nil {
            console.error(
                "permdrift: capability probe: supervisor CapEff=\(supervisorCapabilities ?? "?"), scan CapEff=\(ownCapabilities ?? "?")")
        }
        if let probe, status.isEnforced {
            switch Sandbox.probeRead(probe) {
            case .success: console.error("permdrift: sandbox probe: opening \(TerminalText.escape(probe)) for reading was allowed")
            case .failure(let e):
                console.error("permdrift: sandbox probe: opening \(TerminalText.escape(probe)) for reading was refused (\(e.name))")
            }
        }
        return status
    }

    /// Progress on standard error when it is a terminal and not under systemd: entries, rate, current root.
    func terminalProgress() -> ScanProgress? {
        guard StandardStreams.errorIsTerminal, !RunConsole.journal else { return nil }
        var timing = ScanProgress.Timing.standard
        if let text = ProcessInfo.processInfo.environment["PERMDRIFT_PROGRESS_TIMING"] {
            if let set = ScanProgress.Timing(environment: text) {
                timing = set
            } else {
                console.warning(
                    "permdrift: PERMDRIFT_PROGRESS_TIMING is not DELAY,INTERVAL,BATCH (seconds, seconds, entries, e.g. 0,0,1); the progress line keeps its usual timing"
                )
            }
        }
        return ScanProgress(timing: timing) { snapshot in
            let text = "\r\u{1B}[Kpermdrift: \(snapshot.entries) entries, \(Int(snapshot.rate))/s, in \(snapshot.root)"
            StandardStreams.writeError(text)
        }
    }
}
