import Foundation

/// `permdrift scan` as it was started: the supervisor, which runs the same command again as its worker
/// (`ScanRun`) and answers for it (see `Supervisor`): the worker's exit status, or 2 when it is stuck in
/// the kernel past its deadline, was killed, or ended abnormally; a scan that did not finish is recorded
/// as such (`UnfinishedRun`).
public struct SupervisedScan {
    public let options: ScanOptions
    /// The worker's arguments: this command's own (without argv[0]).
    public let arguments: [String]
    public let console: RunConsole

    /// How long after the deadline the supervisor gives up on a worker that did not end: its watchdog
    /// has said so and removed the reports by then (it waits up to 10 s for a report being written),
    /// unless the worker is stuck in the kernel.
    public static let grace = 15.0

    /// The statuses a worker answers with; anything else (a crash, a signal, an unknown status) is no answer.
    public static let answers: Set<Int32> = [ExitStatus.clean, ExitStatus.drift, ExitStatus.untrusted, ExitStatus.usage, ExitStatus.locked]

    public init(options: ScanOptions, arguments: [String], console: RunConsole = .standard) {
        self.options = options
        self.arguments = arguments
        self.console = console
    }

    /// Runs the worker and returns the exit status.
    public func run() -> Int32 {
        guard let executable = ChildProcess.currentExecutable() else {
            console.error("permdrift: cannot find the running executable (/proc/self/exe) to start the scan")
            return ExitStatus.untrusted
        }
        let started = Date()
        let limit = options.deadlineSeconds + Self.grace
        let message =
            (RunConsole.journal ? "<3>" : "")
            + "permdrift: the scan (process %PID%) is stuck past its deadline, in the kernel on a filesystem that does not answer; it will end when that filesystem answers or is aborted. The result cannot be trusted\n"
        // Where to leave the note of a stuck worker: the state directory, checked as every run checks it.
        let configuration = try? options.configuration.load(quiet: true, console: console)
        let statePath = options.stateDirectory ?? configuration?.stateDirectory
        let marker = statePath.flatMap { try? StateDirectory(path: $0) }
        switch Supervisor.run(
            executable, arguments, seconds: limit, stuckMessage: message,
            reports: options.outputs.map(\.path), stuckMarker: marker)
        {
        case .success(.exited(let status, let lost, let deadlinePassed, let signal, let recorded)):
            if deadlinePassed {
                recordUnfinished(startedAt: started, reason: UnfinishedRun.pastDeadline(options.deadlineSeconds))
                return ExitStatus.untrusted
            }
            if let signal, !recorded {
                // Killed before its result was recorded: under the unit, most often by the kernel's
                // out-of-memory killer at MemoryMax= (the worker offers itself as its first victim).
                let why =
                    signal == ProcessSignal.kill
                    ? "the scan was killed (SIGKILL) before it finished, most likely by the out-of-memory killer at the service's MemoryMax= (journalctl -k tells); nothing it read was recorded"
                    : "the scan ended on signal \(signal) (\(ProcessSignal.describe(signal))) before it finished; nothing it read was recorded"
                console.error("permdrift: \(why); the result cannot be trusted")
                ReportFiles.removeStale(options.outputs, console: console)
                recordUnfinished(startedAt: started, reason: why)
                return ExitStatus.untrusted
            }
            if lost {
                console.error("permdrift: some of the scan's output could not be written; the result cannot be trusted")
                ReportFiles.removeStale(options.outputs, console: console)
                return ExitStatus.untrusted
            }
            guard Self.answers.contains(status) else {
                console.error("permdrift: the scan process ended abnormally (status \(status)); the result cannot be trusted")
                ReportFiles.removeStale(options.outputs, console: console)
                return ExitStatus.untrusted
            }
            return status
        case .failure(let e):
            console.error("permdrift: cannot start the scan: \(e)")
            return ExitStatus.untrusted
        }
    }

    /// Records the scan that did not finish (its lock is free now that the worker is gone), with the
    /// configuration as it is read now.
    private func recordUnfinished(startedAt: Date, reason: String) {
        guard let configuration = try? options.configuration.load(quiet: true, console: console) else {
            console.error("permdrift: the configuration cannot be read here; the unfinished scan is not recorded")
            return
        }
        UnfinishedRun(ScanSettings(options: options, configuration: configuration), startedAt: startedAt, reason: reason)
            .record(console: console)
    }
}
