import Foundation

// The process model of `permdrift scan`, all of it in this folder (and its C side in CPermDrift's
// watchdog.c and process.c):
//
//   permdrift scan (supervisor)        no capabilities, reads nothing of the tree
//     | posix_spawn, fd 3 = pipe       Supervisor.run: relays stdout/stderr, own Deadline
//     v
//   permdrift scan (worker)            PERMDRIFT_SUPERVISOR_FD set: Supervisor.enterWorker()
//     |  <---->  watchdog thread       Deadline (watchdog.c): at the deadline writes the message,
//     |                                removes the reports, writes 'w' on fd 3, _exit(2)
//     |  fd 3 --> supervisor:          WorkerReport bytes: 'r' ledger saved, 'd' scan recorded,
//     |                                'w' deadline passed
//     | posix_spawn (before the sandbox), stdin = pipe
//     v
//   permdrift notify --after-scan      Courier: waits for "go\n" (the scan recorded its alerts),
//                                      then delivers them; anything else: delivers what earlier
//                                      runs left
//
// Each process ends on its own bounds: the worker at its deadline (watchdog), the supervisor a grace
// after it (its own watchdog), the courier at its Alertmanager timeouts. Programs run to their end
// (ssh-keygen) are `ChildProcess.run`; every `waitpid` status is decoded by `WaitStatus`.

/// Runs a scan in a child process and answers for it at the deadline, even when the child cannot.
///
/// The scan's own watchdog ends a run stuck on a hanging filesystem, but a FUSE request that the
/// filesystem's daemon has already read waits uninterruptibly: the process cannot exit until the daemon
/// answers. The supervisor (the `permdrift scan` that was started) is never in the tree: it starts the
/// same command again as its worker, waits, and if the worker has neither finished nor said its scan is
/// recorded a moment after the deadline, it gives up on it and exits 2 itself. The worker dies with it
/// (PR_SET_PDEATHSIG) as soon as the kernel lets it go.
public enum Supervisor {
    /// Set in the worker's environment: the descriptor on which it tells the supervisor its scan is
    /// recorded, and the supervisor's pid.
    static let descriptorKey = "PERMDRIFT_SUPERVISOR_FD"
    static let parentKey = "PERMDRIFT_SUPERVISOR_PID"

    public enum Outcome: Sendable, Equatable {
        /// The worker exited with this status (128+N for signal N); `outputLost` when some of its output
        /// could not be passed on; `deadlinePassed` when its own watchdog ended it at the deadline, before
        /// its scan was recorded; `signal` when a signal ended it (N), and `recorded` whether its result
        /// was in the state directory by then.
        case exited(Int32, outputLost: Bool, deadlinePassed: Bool, signal: Int32?, recorded: Bool)
    }

    /// Whether this process is a supervised worker. When it is, this also makes it die with its
    /// supervisor, and exits at once if the supervisor is already gone.
    public static func enterWorker() -> Bool {
        guard let value = Environment.value(descriptorKey) else { return false }
        let parent = Environment.value(parentKey).flatMap { Int32($0) }
        Environment.remove(descriptorKey)
        Environment.remove(parentKey)
        // Started as a worker: both must be there and name this process's parent and a pipe. Otherwise
        // the supervisor died before the worker got here (or the variables were set by hand): end, never
        // scan unsupervised (a worker that went on as a supervisor would run a whole scan of its own).
        guard let number = Int32(value), number > 2, let parent, FileDescriptor(rawValue: number).isPipe else {
            StandardStreams.writeErrorDirectly(
                "permdrift: PERMDRIFT_SUPERVISOR_FD is set, but this process was not started by permdrift scan; nothing was scanned\n")
            CurrentProcess.exitImmediately(2)
        }
        let fd = FileDescriptor(rawValue: number)
        fd.setCloseOnExec()  // not inherited by the processes the worker starts
        CurrentProcess.dieWithParent()
        // The supervisor is gone (before or after that took effect).
        if CurrentProcess.parentID != parent { CurrentProcess.exitImmediately(2) }
        preferAsOOMVictim()
        #if DEBUG
            // Debug builds only, for tests: the worker stops itself (SIGSTOP) when its walk is about to read
            // this path, so a test can kill it in the middle of a scan on that event, not after a guess.
            if let path = Environment.value("PERMDRIFT_TEST_STOP_BEFORE") {
                WalkHooks.install(.beforeRead, at: path) { _ in CurrentProcess.stop() }
            }
        #endif
        workerDescriptor = fd
        Watchdog.notifyOnDeadline(fd)
        return true
    }

    /// Makes this process (the worker) the one the kernel's out-of-memory killer ends first: under the
    /// unit's MemoryMax= it is the worker that holds the tree's memory, and the supervisor must live to
    /// record that the scan did not finish (raising one's own score needs no privilege). Best effort.
    private static func preferAsOOMVictim() {
        CurrentProcess.preferAsOOMVictim()
    }

    /// The worker's end of the "scan recorded" pipe (set once, on the main thread, before any other).
    nonisolated(unsafe) private static var workerDescriptor: FileDescriptor?

    /// The effective capabilities of a process, from /proc (`CapEff`), for diagnostics and tests.
    public static func effectiveCapabilities(of pid: Int32) -> String? {
        guard let text = CurrentProcess.procStatus(of: pid) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            .map { $0.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces) }
    }

    /// In the worker: its scan is recorded; what remains (alert delivery) has bounds of its own, and the
    /// supervisor waits for it however long it takes.
    public static func scanRecorded() { tellSupervisor(.scanRecorded) }

    /// In the worker: the state directory holds this run's result. A deadline that passes after this
    /// (writing the metrics, say) ends the run, but the supervisor records no unfinished run over it.
    public static func ledgerRecorded() { tellSupervisor(.ledgerRecorded) }

    /// Writes one report byte to the supervisor, when this process is a supervised worker.
    private static func tellSupervisor(_ report: WorkerReport) {
        workerDescriptor?.writeOnce([report.byte])
    }

    /// A worker's output relayed to this process's: from the pipe, to standard output or error.
    private typealias Relay = (from: FileDescriptor, to: FileDescriptor)

    /// Starts `executable` with `arguments` as the worker and waits for it. Until the worker says its scan
    /// is recorded, a watchdog (`Deadline`) gives it `seconds`: then it writes `stuckMessage` (with the
    /// worker's pid for `%PID%`), removes `reports` and ends this process with status 2, and the worker
    /// dies with it. The worker's standard output (and its standard error, unless that is a terminal,
    /// where progress is shown) comes through pipes that this process relays, so a worker stuck in the
    /// kernel holds no descriptor of the caller's: a shell reading `permdrift scan`'s output gets its end
    /// of file when `permdrift scan` exits. Standard input is shared.
    ///
    /// With `stuckMarker`, giving up also leaves that file (the worker's pid and start time) in the state
    /// directory, so that the runs the stuck worker keeps out (it holds the lock) can tell it apart from
    /// a run in progress (`StateDirectory.stuckScan`).
    public static func run(
        _ executable: String, _ arguments: [String], seconds: Double, stuckMessage: String,
        reports: [String], stuckMarker: StateDirectory? = nil
    ) -> Result<Outcome, SystemCallError> {
        // Descriptors 0-2 must be open, or the pipes below would take their numbers and be crossed in the
        // worker.
        Syscalls.openMissingStandardDescriptors()
        // A caller that ignores SIGCHLD would make waitpid fail (ECHILD) and every status unknown.
        Syscalls.restoreDefaultChildSignal()
        let status: (read: FileDescriptor, write: FileDescriptor)
        let out: (read: FileDescriptor, write: FileDescriptor)
        switch (Syscalls.makePipe(), Syscalls.makePipe()) {
        case (.success(let s), .success(let o)): (status, out) = (s, o)
        case (.failure(let e), let other), (let other, .failure(let e)):
            if case .success(let opened) = other { opened.read.close(); opened.write.close() }
            return .failure(SystemCallError("pipe", path: executable, errno: e))
        }
        let err = FileDescriptor.standardError.isTerminal ? nil : try? Syscalls.makePipe().get()
        let environment =
            Environment.entries().filter { !$0.hasPrefix(descriptorKey + "=") && !$0.hasPrefix(parentKey + "=") }
            + ["\(descriptorKey)=3", "\(parentKey)=\(CurrentProcess.id)"]
        // The running binary itself (its path may name another file by now); `executable` stays argv[0].
        let spawned = Spawn.worker(
            ChildProcess.runningImage ?? executable, arguments: [executable] + arguments,
            environment: environment, output: out.write, error: err?.write, status: status.write)
        for fd in [status.write, out.write] + (err.map { [$0.write] } ?? []) { fd.close() }
        var relays: [Relay] = [(from: out.read, to: .standardOutput)] + (err.map { [(from: $0.read, to: .standardError)] } ?? [])
        defer {
            status.read.close()
            for relay in relays { relay.from.close() }
        }
        let pid: Int32
        switch spawned {
        case .success(let p): pid = p
        case .failure(let e): return .failure(SystemCallError("posix_spawn", path: executable, errno: e))
        }
        // The deadline is a thread of its own: nothing this loop blocks on (a caller that stops reading)
        // can keep the run from ending.
        let message = stuckMessage.replacingOccurrences(of: "%PID%", with: String(pid))
        if let stuckMarker {
            let text = "process \(pid), started \(ScanResult.timestamp(Date()))\n"
            if case .failure(let e) = Deadline.leaveMarker(in: stuckMarker.descriptor, name: StateDirectory.stuckFile, text: text) {
                StandardStreams.writeErrorDirectly("permdrift: cannot prepare the note of a stuck scan in the state directory: \(e.name)\n")
            }
        }
        if case .failure(let e) = Deadline.start(seconds: seconds, message: message, reports: reports) {
            Syscalls.killProcess(pid)
            _ = WaitStatus.wait(for: pid)
            return .failure(SystemCallError("pthread_create (the supervisor's watchdog)", path: executable, errno: e))  // not a system call
        }
        // The supervisor reads nothing of the tree: the service account's CAP_DAC_READ_SEARCH is the
        // worker's alone. (Root keeps what uid 0 implies: reports it may have to remove can be anywhere.)
        if CurrentProcess.effectiveUserID != 0, case .failure(let e) = CurrentProcess.dropAllCapabilities() {
            StandardStreams.writeErrorDirectly(
                "permdrift: cannot drop the supervisor's capabilities (capset: \(e.name)); they stay unused\n")
        }
        var statusOpen = true
        var lost = false
        var deadlinePassed = false
        var recorded = false
        /// Reads one byte the worker wrote (a `WorkerReport`).
        func readStatus() {
            var byte: UInt8 = 0
            let n = withUnsafeMutableBytes(of: &byte) { status.read.readSome(into: $0) }
            if case .success(0) = n { statusOpen = false }
            guard case .success(1) = n, let report = WorkerReport(byte: byte) else { return }
            switch report {
            // Only the byte counts: the scan is recorded, what remains has bounds of its own.
            case .scanRecorded: recorded = true; Deadline.disarm()
            case .ledgerRecorded: recorded = true
            // A deadline that passed after the result was recorded leaves nothing unrecorded.
            case .deadlinePassed: if !recorded { deadlinePassed = true }
            }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let exitStatus = WaitStatus.wait(for: pid, block: false) {
                // Everything the worker wrote is in the pipes now (unless a process it started holds them).
                relay(&relays, buffer: &buffer, waitMilliseconds: 0, untilQuiet: true, lost: &lost)
                while statusOpen {
                    guard case .success([true]) = Syscalls.pollReady([(status.read, .readable)], milliseconds: 0) else { break }
                    readStatus()
                }
                // The worker is gone: what the caller does next (recording an unfinished run) is not the
                // stuck worker this watchdog is for, and must not be cut short or taken for one.
                Watchdog.disarm()
                return .success(
                    .exited(
                        exitStatus.status, outputLost: lost, deadlinePassed: deadlinePassed,
                        signal: exitStatus.signal, recorded: recorded))
            }
            var watched: [(FileDescriptor?, Syscalls.PollInterest)] = relays.map { ($0.from, .readable) }
            if statusOpen { watched.append((status.read, .readable)) }
            if watched.isEmpty {
                CurrentProcess.sleep(for: .milliseconds(200))
                continue
            }
            guard case .success(let ready) = Syscalls.pollReady(watched, milliseconds: 200), ready.contains(true) else { continue }
            if statusOpen, ready.last == true { readStatus() }
            relay(&relays, buffer: &buffer, waitMilliseconds: 0, untilQuiet: false, lost: &lost)
        }
    }

    /// Copies what is waiting in the worker's pipes to this process's standard output and error; a pipe at
    /// its end is dropped. With `untilQuiet`, copies until no pipe has anything left.
    private static func relay(
        _ relays: inout [Relay], buffer: inout [UInt8], waitMilliseconds: Int32,
        untilQuiet: Bool, lost: inout Bool
    ) {
        repeat {
            guard !relays.isEmpty else { return }
            guard case .success(let ready) = Syscalls.pollReady(relays.map { ($0.from, .readable) }, milliseconds: waitMilliseconds),
                ready.contains(true)
            else { return }
            var finished = [Int]()
            for (i, relay) in relays.enumerated() where ready[i] {
                let n: Int
                switch buffer.withUnsafeMutableBytes({ relay.from.readSome(into: $0) }) {
                case .success(let count) where count > 0: n = count
                default: finished.append(i); continue  // its end, or an error
                }
                var written = 0
                copying: while written < n {
                    switch buffer.withUnsafeBytes({ relay.to.writeSome(UnsafeRawBufferPointer(rebasing: $0[written..<n])) }) {
                    case .success(let w) where w > 0: written += w
                    case .failure(let e) where e == .wouldBlock:
                        // A non-blocking descriptor of the caller's: wait until it takes more.
                        _ = Syscalls.pollReady([(relay.to, .writable)], milliseconds: -1)
                    default:
                        lost = true  // a full disk, a closed file: the run says so
                        break copying
                    }
                }
            }
            for i in finished.reversed() {
                relays[i].from.close()
                relays.remove(at: i)
            }
        } while untilQuiet
    }
}
