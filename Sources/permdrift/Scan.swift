import ArgumentParser
import Foundation
import PermDriftCore

/// One more report written to a file: `FORMAT:PATH`.
struct OutputSpec: ExpressibleByArgument {
    let format: ReportFormat
    let path: String

    init?(argument: String) {
        guard let colon = argument.firstIndex(of: ":"),
              let format = ReportFormat(rawValue: String(argument[..<colon])) else { return nil }
        let path = String(argument[argument.index(after: colon)...])
        guard !path.isEmpty else { return nil }
        self.format = format
        self.path = path
    }
}

extension ReportFormat: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan the baseline's roots and report every drift.",
        discussion: """
            Settings come from --config (default /etc/permdrift/config.yaml when it exists); flags override \
            them. Without a baseline from either, /etc/permdrift/baseline.yaml is used if it exists, else the \
            built-in agent-host baseline; the report says which. With --root DIR, / means DIR: baseline paths \
            and report paths are host paths, read under DIR, and names resolve in DIR/etc/passwd and \
            DIR/etc/group. Exit codes: 0 no drift, 1 drift, 2 the result cannot be trusted, 64 usage, 75 \
            another run holds the state directory's lock (2 when that run is stuck in the kernel).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The run configuration (default /etc/permdrift/config.yaml when it exists and --root is not given).", valueName: "file"))
    var config: String?

    @Flag(name: .customLong("no-config"), help: "Read no configuration file, not even /etc/permdrift/config.yaml.")
    var noConfig = false

    @Option(name: .long, help: ArgumentHelp("The baseline to enforce.", valueName: "file"))
    var baseline: String?

    @OptionGroup var host: RootOptions

    @Option(name: .long, help: ArgumentHelp("The report written to standard output: text, json, junit or sarif.", valueName: "format"))
    var format: ReportFormat = .text

    @Option(name: .customLong("fail-on"),
            help: ArgumentHelp("Exit 1 only for findings at or above this severity (critical, high, medium, low); the others are still reported.",
                               valueName: "severity"))
    var failOn: Severity?

    @Option(name: .customLong("output"), parsing: .singleValue,
            help: ArgumentHelp("Also write a report to a file, atomically (repeatable; replaces the configuration's outputs), e.g. json:/var/lib/permdrift/last.json.",
                               valueName: "format:path"))
    var outputs: [OutputSpec] = []

    @Option(name: .customLong("state-dir"),
            help: ArgumentHelp("The state directory (the service passes its StateDirectory): the account's own, 0700; holds the run lock.",
                               valueName: "dir"))
    var stateDirectory: String?

    @OptionGroup var alerting: AlertOptions

    @Flag(name: .customLong("require-sandbox"), help: "Refuse to scan (exit 2) when the Landlock sandbox cannot be applied.")
    var requireSandbox = false

    @Flag(name: .customLong("require-signature"),
          help: "Enforce the baseline only if FILE.sig, made with ssh-keygen -Y sign, verifies against --signers (no built-in fallback).")
    var requireSignature = false

    @Option(name: .long, help: ArgumentHelp("The OpenSSH allowed_signers file that approves baselines.", valueName: "file"))
    var signers: String?

    @Option(name: .long, help: ArgumentHelp("Give up after this many seconds (default 1500): a scan that does not finish, as on a hanging filesystem, is incomplete (exit 2).", valueName: "seconds"))
    var deadline: Double?

    @Option(name: .long, help: ArgumentHelp("Walk with this many threads (default: one per CPU this process may use, at most 8).", valueName: "n"))
    var threads: Int?

    @Option(name: .customLong("sandbox-probe"), help: .hidden)
    var sandboxProbe: String?

    static let defaultBaselinePath = "/etc/permdrift/baseline.yaml"

    func run() throws {
        if !Supervisor.enterWorker() { throw ExitCode(supervise()) }
        let status: Int32
        do {
            status = try scan()
        } catch let code as ExitCode where code.rawValue == ExitStatus.untrusted {
            // The reports named on this command line must not stand in for this run. Those of the
            // configuration are removed only by a run that holds the lock (see scan(settings:outputs:)).
            removeStaleOutputs(outputs)
            throw code
        }
        throw ExitCode(status)
    }

    /// Runs this same command as a worker process and answers for it: its exit status, or 2 when it is
    /// stuck in the kernel past its deadline (see `Supervisor`).
    func supervise() -> Int32 {
        guard let executable = ChildProcess.currentExecutable() else {
            warn("permdrift: cannot find the running executable (/proc/self/exe) to start the scan")
            return ExitStatus.untrusted
        }
        let started = Date()
        let limit = (deadline ?? Self.defaultDeadline) + Self.supervisorGrace
        let message = (Log.journal ? "<3>" : "") + "permdrift: the scan (process %PID%) is stuck past its deadline, in the kernel on a filesystem that does not answer; it will end when that filesystem answers or is aborted. The result cannot be trusted\n"
        // Where to leave the note of a stuck worker: the state directory, checked as every run checks it.
        let settings = try? loadConfiguration(quiet: true)
        let statePath = stateDirectory ?? settings?.stateDirectory
        let marker = statePath.flatMap { try? StateDirectory(path: $0) }
        switch Supervisor.run(executable, Array(CommandLine.arguments.dropFirst()), seconds: limit, stuckMessage: message,
                              reports: outputs.map(\.path), stuckMarker: marker) {
        case .success(.exited(let status, let lost, let deadlinePassed, let signal, let recorded)):
            if deadlinePassed {
                recordUnfinished(startedAt: started)
                return ExitStatus.untrusted
            }
            if let signal, !recorded {
                // Killed before its result was recorded: under the unit, most often by the kernel's
                // out-of-memory killer at MemoryMax= (the worker offers itself as its first victim).
                let why = signal == SIGKILL
                    ? "the scan was killed (SIGKILL) before it finished, most likely by the out-of-memory killer at the service's MemoryMax= (journalctl -k tells); nothing it read was recorded"
                    : "the scan ended on signal \(signal) (\(String(cString: strsignal(signal)))) before it finished; nothing it read was recorded"
                warn("permdrift: \(why); the result cannot be trusted")
                removeStaleOutputs(outputs)
                recordUnfinished(startedAt: started, reason: why)
                return ExitStatus.untrusted
            }
            if lost {
                warn("permdrift: some of the scan's output could not be written; the result cannot be trusted")
                removeStaleOutputs(outputs)
                return ExitStatus.untrusted
            }
            // 0, 1, 2, 64 and 75 are the worker's answers; anything else (a crash, a signal, an unknown
            // status) is no answer.
            guard [0, 1, 2, 64, 75].contains(status) else {
                warn("permdrift: the scan process ended abnormally (status \(status)); the result cannot be trusted")
                removeStaleOutputs(outputs)
                return ExitStatus.untrusted
            }
            return status
        case .failure(let e):
            warn("permdrift: cannot start the scan: \(e)")
            return ExitStatus.untrusted
        }
    }

    /// After the worker's watchdog ended it at the deadline, or a signal ended it (the out-of-memory killer
    /// at the unit's MemoryMax=), before its result was recorded (its lock is free now that it is gone): records
    /// in the state directory that the scan did not finish, so the PermdriftScanIncomplete alert waits
    /// for delivery, the drift alerts that fired stay firing (nothing was re-checked), and the metrics say
    /// the last run was incomplete. Without this, a filesystem slow enough to outlast every deadline
    /// would leave the last alerts to expire in Alertmanager as if resolved.
    func recordUnfinished(startedAt: Date, reason given: String? = nil) {
        guard let settings = try? loadConfiguration(quiet: true) else {
            warn("permdrift: the configuration cannot be read here; the unfinished scan is not recorded")
            return
        }
        let limit = deadline ?? Self.defaultDeadline
        let reason = given ?? "the scan did not finish within \(limit) seconds (a filesystem may hang or be too slow); nothing it read was recorded"
        guard let path = stateDirectory ?? settings.stateDirectory else {
            if let textfile = alerting.textfile(settings) {
                let result = ScanResult.unfinished(reason: reason, rootDirectory: host.root ?? "/", startedAt: startedAt,
                                                   baselineName: "", baselineSHA256: String(repeating: "0", count: 64))
                _ = writeTextfile(textfile, run: RunSummary(result), lastSuccess: nil, pending: nil)
            }
            return
        }
        // The worker's lock goes with it; a notify it started may hold the lock a moment.
        var directory: StateDirectory?
        for attempt in 0..<20 {
            do {
                let d = try StateDirectory(path: path)
                try d.lock()
                directory = d
                break
            } catch .busy {
                if attempt < 19 { usleep(100_000) }
            } catch {
                warn("permdrift: cannot record the unfinished scan in the state directory: \(error)")
                return
            }
        }
        guard let directory else {
            warn("permdrift: cannot record the unfinished scan: another permdrift run holds the state directory's lock")
            return
        }
        defer { directory.unlock() }
        // This run holds the lock: the configuration's reports of an earlier run are its to remove.
        if outputs.isEmpty { removeStaleOutputs(settings.outputs.compactMap(OutputSpec.init(argument:))) }
        var ledger: FindingLedger
        switch directory.loadLedger() {
        case .missing: ledger = FindingLedger()
        case .loaded(let l): ledger = l
        case .corrupt:
            warn("permdrift: the state cannot be trusted; the unfinished scan is not recorded (the next scan starts it anew)")
            return
        }
        let result = ScanResult.unfinished(reason: reason, rootDirectory: host.root ?? "/", startedAt: startedAt,
                                           baselineName: ledger.lastRun?.baselineName ?? "",
                                           baselineSHA256: ledger.lastRun?.baselineSHA256 ?? String(repeating: "0", count: 64))
        let now = Date()
        let lifecycle = ledger.record(result, now: now)
        AlertBuilder.updateUnfinished(&ledger, result: result, now: now)
        do {
            try directory.saveLedger(ledger)
            warn("permdrift: recorded the unfinished scan: \(lifecycle.kept.count) finding\(lifecycle.kept.count == 1 ? "" : "s") kept firing; \(ledger.pendingAlerts.count) alert\(ledger.pendingAlerts.count == 1 ? "" : "s") to deliver")
        } catch {
            warn("permdrift: cannot record the unfinished scan in the state directory: \(error)")
        }
        if let textfile = alerting.textfile(settings), let run = ledger.lastRun {
            let delivers = alerting.alertmanager != nil || settings.alertmanager != nil
            _ = writeTextfile(textfile, run: run, lastSuccess: ledger.lastSuccess, pending: delivers ? ledger.pendingAlerts.count : nil)
        }
    }

    /// How long after the deadline the supervisor gives up on a worker that did not end: its watchdog
    /// has said so and removed the reports by then (it waits up to 10 s for a report being written),
    /// unless the worker is stuck in the kernel.
    static let supervisorGrace = 15.0

    /// Writes the report files, each under the watchdog's report lock. False when one could not be written
    /// (it is removed: an earlier run's report must not stand in for it) or the deadline has passed (the
    /// watchdog is ending the run with exit 2 and removes them).
    func writeReports(_ result: ScanResult, to outputs: [OutputSpec]) -> Bool {
        var written = true
        for output in outputs {
            let rendered = output.format.render(result)
            do {
                guard try Deadline.whileWritingReport({ try AtomicFile.write(rendered, to: output.path, mode: 0o600) }) else { return false }
            } catch {
                warn("permdrift: cannot write the \(output.format.rawValue) report: \(error)")
                removeStaleOutputs([output])
                written = false
            }
        }
        return written
    }

    /// No result could be produced: reports from an earlier run must not stand in for this one.
    func removeStaleOutputs(_ outputs: [OutputSpec]) {
        for output in outputs where unlink(output.path) == 0 {
            warn("permdrift: removed \(TerminalText.escape(output.path)), which held an earlier run's report")
        }
    }

    /// Scans and writes the reports; returns the exit status, or throws when no result could be produced.
    static let defaultDeadline = 1500.0

    func validate() throws {
        if let deadline, !(deadline > 0) { throw ValidationError("--deadline must be a positive number of seconds") }
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be between 1 and 64") }
    }

    func scan() throws -> Int32 {
        // The watchdog starts first: loading accounts through NSS can hang as well as a filesystem.
        let limit = deadline ?? Self.defaultDeadline
        let message = (Log.journal ? "<3>" : "") + "permdrift: the scan did not finish within \(limit) seconds (a filesystem may hang); the result cannot be trusted\n"
        if case .failure(let e) = Deadline.start(seconds: limit, message: message, reports: self.outputs.map(\.path)) {
            warn("permdrift: cannot start the run's watchdog: \(e)")
            throw ExitCode(ExitStatus.untrusted)
        }
        let settings = try loadConfiguration()
        let outputs = self.outputs.isEmpty ? settings.outputs.compactMap(OutputSpec.init(argument:)) : self.outputs
        // The state directory and its lock come first: a second run stops here, having touched nothing.
        let statePath = stateDirectory ?? settings.stateDirectory
        let state = try statePath.map { try openStateDirectory($0, fromConfiguration: stateDirectory == nil) }
        let delivers = alerting.alertmanager != nil  // the configuration's alertmanager: is for permdrift notify
        if delivers && state == nil {
            warn("permdrift: --alertmanager needs --state-dir (or state-directory: in the configuration): undelivered alerts wait there")
            throw ExitCode(ExitStatus.usage)
        }
        // The findings of earlier runs, to tell new drift from old and to resolve what was fixed.
        var ledger: FindingLedger?
        var stateTrusted = true
        if let state {
            switch state.loadLedger() {
            case .missing: ledger = FindingLedger()
            case .loaded(let l): ledger = l
            case .corrupt(let why, let keptAs):
                warn("permdrift: the state cannot be trusted: \(why)\(keptAs.map { "; kept as \(TerminalText.escape($0))" } ?? ""); starting it anew (every finding counts as new, and alerts resolved since the last good state are not resolved until Alertmanager's endsAt)")
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
        var courier: ChildProcess?
        if delivers, let statePath {
            _ = try alerting.endpoint(settings)  // a bad URL or credential file fails now, before scanning
            courier = try startCourier(statePath: statePath)
        }
        return try withExtendedLifetime(state) {
            var status: Int32
            let result: ScanResult
            do {
                (status, result) = try scan(settings: settings, outputs: outputs, state: state)
            } catch let code as ExitCode where code.rawValue == ExitStatus.untrusted && state != nil && self.outputs.isEmpty {
                // This run holds the lock: the configuration's reports of an earlier run are its to remove.
                removeStaleOutputs(outputs)
                throw code
            }
            if !stateTrusted { status = ExitStatus.untrusted }
            let run: RunSummary
            if let state, var l = ledger {
                let now = Date()
                let lifecycle = l.record(result, now: now)
                AlertBuilder.update(&l, result: result, now: now)
                Log.info("permdrift: \(lifecycle.new.count) new, \(lifecycle.stillFiring.count) still firing, \(lifecycle.resolved.count) resolved, \(lifecycle.kept.count) kept (not readable this time); \(l.pendingAlerts.count) alert\(l.pendingAlerts.count == 1 ? "" : "s") to deliver")
                do {
                    try state.saveLedger(l)
                    Supervisor.ledgerRecorded()
                } catch {
                    warn("permdrift: cannot record the findings in the state directory: \(error); the previous state is kept, and this run's alerts are not recorded")
                    status = ExitStatus.untrusted
                }
                ledger = l
                run = l.lastRun ?? RunSummary(result)
            } else {
                run = RunSummary(result)
            }
            if let textfile = alerting.textfile(settings) {
                let lastSuccess = ledger?.lastSuccess ?? (run.complete ? result.finishedAt : nil)
                // Alerts wait for delivery only where delivery is configured (a metrics-only host has none).
                let pending = (delivers || settings.alertmanager != nil) ? ledger?.pendingAlerts.count : nil
                if !writeTextfile(textfile, run: run, lastSuccess: lastSuccess, pending: pending) {
                    status = ExitStatus.untrusted
                }
            }
            if let courier {
                Deadline.disarm()
                state?.unlock()
                courier.send("go\n")
                let delivered = courier.wait()
                if delivered != 0 { status = ExitStatus.untrusted }
            }
            return status
        }
    }

    /// Progress on standard error when it is a terminal and not under systemd: entries, rate, current root.
    static func terminalProgress() -> ScanProgress? {
        guard isatty(2) == 1, !Log.journal else { return nil }
        var timing = ScanProgress.Timing.standard
        if let text = ProcessInfo.processInfo.environment["PERMDRIFT_PROGRESS_TIMING"] {
            if let set = ScanProgress.Timing(environment: text) {
                timing = set
            } else {
                Log.warning("permdrift: PERMDRIFT_PROGRESS_TIMING is not DELAY,INTERVAL,BATCH (seconds, seconds, entries, e.g. 0,0,1); the progress line keeps its usual timing")
            }
        }
        return ScanProgress(timing: timing) { snapshot in
            let text = "\r\u{1B}[Kpermdrift: \(snapshot.entries) entries, \(Int(snapshot.rate))/s, in \(snapshot.root)"
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// Starts `permdrift notify --after-scan` with the same settings; it waits for "go".
    func startCourier(statePath: String) throws -> ChildProcess {
        guard let executable = ChildProcess.currentExecutable() else {
            warn("permdrift: cannot find the running executable (/proc/self/exe) to start the delivery")
            throw ExitCode(ExitStatus.untrusted)
        }
        var arguments = ["notify", "--after-scan", "--state-dir", statePath]
        if noConfig || (config == nil && host.root != nil) { arguments.append("--no-config") } else if let config { arguments += ["--config", config] }
        if let url = alerting.alertmanager { arguments += ["--alertmanager", url] }
        if let timeout = alerting.alertmanagerTimeout { arguments += ["--alertmanager-timeout", String(timeout)] }
        if let textfile = alerting.prometheusTextfile { arguments += ["--prometheus-textfile", textfile] }
        // The delivery needs no capability: the scan's CAP_DAC_READ_SEARCH is not passed on (the ambient
        // set is what a program started by a non-root account would inherit).
        ChildProcess.clearAmbientCapabilities()
        switch ChildProcess.spawnItself(executable, arguments) {
        case .success(let child): return child
        case .failure(let e):
            warn("permdrift: cannot start the delivery: \(e)")
            throw ExitCode(ExitStatus.untrusted)
        }
    }

    /// A signed baseline that was refused: it is reported (a critical `baseline-rejected` finding), not
    /// only printed, so whoever reads the reports learns that nothing was enforced.
    struct BaselineRejected: Error {
        let source: String
        let bytes: [UInt8]?
        let reason: String
    }

    func scan(settings: RunConfiguration, outputs: [OutputSpec], state: StateDirectory?) throws -> (Int32, ScanResult) {
        let rootDirectory = try host.rootDirectory()
        let accounts = try host.accounts()
        let mustBeSigned = requireSignature || settings.requireSignature == true
        let baseline: Baseline
        do {
            baseline = try loadBaseline(accounts: accounts, configured: settings.baseline,
                                        signers: mustBeSigned ? (signers ?? settings.signers) : nil, mustBeSigned: mustBeSigned)
            if mustBeSigned, let state {
                do { try checkSerial(baseline, state: state) } catch {
                    throw BaselineRejected(source: baseline.origin.source, bytes: nil, reason: error.description)
                }
            }
        } catch let rejected as BaselineRejected {
            warn("permdrift: baseline rejected: \(TerminalText.escape(rejected.source)): \(rejected.reason)")
            var result = ScanResult.rejectedBaseline(source: rejected.source, bytes: rejected.bytes, reason: rejected.reason,
                                                     rootDirectory: rootDirectory)
            result.failOn = failOn ?? settings.failOn ?? .low
            _ = writeReports(result, to: outputs)
            FileHandle.standardOutput.write(Data(format.render(result).utf8))
            return (ExitStatus.untrusted, result)
        }
        let root: RootDirectory
        do { root = try RootDirectory(path: rootDirectory, threads: threads ?? Walker.Options.defaultThreads) } catch {
            warn("permdrift: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        let sandbox = try applySandbox(root: root, baseline: baseline, state: state, outputs: outputs,
                                       textfile: alerting.textfile(settings),
                                       required: requireSandbox || settings.requireSandbox == true)
        var result: ScanResult
        do {
            var scanner = Scanner(baseline: baseline, accounts: accounts, root: root)
            scanner.progress = Self.terminalProgress()
            if let threads { scanner.options.threads = threads }
            result = try scanner.run()
            if scanner.progress?.reported == true { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        } catch {
            warn("permdrift: cannot scan: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        result.failOn = failOn ?? settings.failOn ?? .low
        result.sandboxed = sandbox.isEnforced
        if !sandbox.isEnforced { result.notices.append("\(sandbox); the scan ran without it") }
        var status = result.exitCode
        // Written even for an incomplete scan: the report itself says it cannot be trusted.
        if !writeReports(result, to: outputs) { status = ExitStatus.untrusted }
        FileHandle.standardOutput.write(Data(format.render(result).utf8))
        if !result.isComplete {
            warn("permdrift: the scan is incomplete (\(result.errors.count) path\(result.errors.count == 1 ? "" : "s") could not be read); the result cannot be trusted")
        }
        return (status, result)
    }

    /// Restricts the process once everything it reads is loaded: directory listings under the scan
    /// roots only, writes in the state and report directories only.
    func applySandbox(root: RootDirectory, baseline: Baseline, state: StateDirectory?, outputs: [OutputSpec],
                      textfile: String?, required: Bool) throws -> SandboxStatus {
        ScanResult.prepareForSandbox()
        var plan = Sandbox.Plan()
        for scanRoot in baseline.roots {
            if let fd = Sandbox.openBeneath(root.fd, scanRoot) { plan.listable.append(fd) }
        }
        let directories = (outputs.map(\.path) + (textfile.map { [$0] } ?? [])).map { path -> String in
            let directory = (path as NSString).deletingLastPathComponent
            return directory.isEmpty ? "." : directory
        }
        plan.state = state?.pathDescriptor()
        for directory in directories {
            switch Sandbox.openDirectory(directory) {
            case .success(let fd): plan.writable.append(fd)
            case .failure(let e):
                Sandbox.close(plan)
                warn("permdrift: cannot open a report directory: \(e)")
                throw ExitCode(ExitStatus.untrusted)
            }
        }
        defer { Sandbox.close(plan) }
        // Read before the sandbox closes /proc (the supervisor has dropped its capabilities long since).
        let supervisorCapabilities = sandboxProbe != nil ? Supervisor.effectiveCapabilities(of: getppid()) : nil
        let ownCapabilities = sandboxProbe != nil ? Supervisor.effectiveCapabilities(of: getpid()) : nil
        let status = Sandbox.restrict(plan)
        if !status.isEnforced && required {
            warn("permdrift: --require-sandbox: \(status); refusing to scan with CAP_DAC_READ_SEARCH and no sandbox")
            throw ExitCode(ExitStatus.untrusted)
        }
        Log.info("permdrift: \(status)")
        if sandboxProbe != nil {
            Log.error("permdrift: capability probe: supervisor CapEff=\(supervisorCapabilities ?? "?"), scan CapEff=\(ownCapabilities ?? "?")")
        }
        if let probe = sandboxProbe, status.isEnforced {
            switch Sandbox.probeRead(probe) {
            case .success: Log.error("permdrift: sandbox probe: opening \(TerminalText.escape(probe)) for reading was allowed")
            case .failure(let e): Log.error("permdrift: sandbox probe: opening \(TerminalText.escape(probe)) for reading was refused (\(e.name))")
            }
        }
        return status
    }

    func loadConfiguration(quiet: Bool = false) throws -> RunConfiguration {
        // The default configuration is the service's, for the live host: a scan of a scratch root (--root)
        // reads a configuration only when one is named.
        try loadRunConfiguration(config, noConfig: noConfig, defaultApplies: host.root == nil, quiet: quiet)
    }

    /// A signed baseline's serial never goes down on a host: an older signed baseline is not replayed.
    func checkSerial(_ baseline: Baseline, state: StateDirectory) throws(StateError) {
        let serial = baseline.serial ?? 0
        if let highest = try state.highestSerial(), serial < highest {
            throw .untrusted(path: baseline.origin.source,
                             why: "has serial \(serial), lower than \(highest), the highest this host has accepted: an older baseline is being replayed; rejected")
        }
        try state.recordSerial(serial)
    }

    func loadBaseline(accounts: AccountDatabase, configured: String?, signers: String?, mustBeSigned: Bool) throws -> Baseline {
        let loader = BaselineLoader(accounts: accounts)
        if mustBeSigned {
            // The bytes are read once, verified, and the same bytes parsed; no built-in fallback.
            guard let signers else {
                warn("permdrift: --require-signature needs --signers (or signers: in the configuration)")
                throw ExitCode(ExitStatus.untrusted)
            }
            let path = baseline ?? configured ?? Self.defaultBaselinePath
            switch ApprovedBaseline.read(path, signers: signers) {
            case .success(let approved):
                do {
                    var loaded = try loader.load(approved.bytes, file: path)
                    loaded.origin.signer = approved.signer.description
                    Log.info("permdrift: baseline \(TerminalText.escape(path)) approved by \(TerminalText.escape(approved.signer.description))")
                    return loaded
                } catch {
                    warn(error.description)
                    warn("permdrift: the baseline does not load; nothing was scanned")
                    throw ExitCode(ExitStatus.untrusted)
                }
            case .failure(let why):
                throw BaselineRejected(source: path, bytes: nil, reason: why.description)
            }
        }
        // Anything at the default path (even a dangling symlink) is the baseline: it is refused if it is not
        // a trusted regular file, never silently replaced by the built-in one.
        var st = stat()
        let path = baseline ?? configured ?? (lstat(Self.defaultBaselinePath, &st) == 0 || errno != ENOENT ? Self.defaultBaselinePath : nil)
        do {
            guard let path else {
                return try loader.load(Array(BuiltInBaseline.text.utf8), file: "built-in:agent-host.yaml", isBuiltIn: true)
            }
            switch TrustedFile.read(path: path, requireTrustedOwner: true) {
            case .success(let bytes):
                return try loader.load(bytes, file: path)
            case .failure(let e):
                warn("permdrift: cannot use the baseline: \(e)")
                throw ExitCode(ExitStatus.untrusted)
            }
        } catch let error as BaselineLoadError {
            warn(error.description)
            warn("permdrift: the baseline does not load (\(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s")); nothing was scanned")
            throw ExitCode(ExitStatus.untrusted)
        }
    }
}
