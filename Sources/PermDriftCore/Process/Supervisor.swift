import CPermDrift
import Foundation
import Glibc

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
        guard let value = getenv(descriptorKey).map({ String(cString: $0) }) else { return false }
        let parent = getenv(parentKey).flatMap { pid_t(String(cString: $0)) }
        unsetenv(descriptorKey)
        unsetenv(parentKey)
        // Started as a worker: both must be there and name this process's parent and a pipe. Otherwise
        // the supervisor died before the worker got here (or the variables were set by hand): end, never
        // scan unsupervised (a worker that went on as a supervisor would run a whole scan of its own).
        var st = stat()
        guard let fd = Int32(value), fd > 2, let parent, fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else {
            let text = "permdrift: PERMDRIFT_SUPERVISOR_FD is set, but this process was not started by permdrift scan; nothing was scanned\n"
            _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
            _exit(2)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not inherited by the processes the worker starts
        _ = pd_die_with_parent()
        if getppid() != parent { _exit(2) }  // the supervisor is gone (before or after that took effect)
        preferAsOOMVictim()
        #if DEBUG
        // Debug builds only, for tests: the worker stops itself (SIGSTOP) when its walk is about to read
        // this path, so a test can kill it in the middle of a scan on that event, not after a guess.
        if let path = getenv("PERMDRIFT_TEST_STOP_BEFORE").map({ String(cString: $0) }) {
            WalkHooks.install(.beforeRead, at: path) { _ in _ = raise(SIGSTOP) }
        }
        #endif
        workerDescriptor = fd
        pd_watchdog_notify(fd)
        return true
    }

    /// Makes this process (the worker) the one the kernel's out-of-memory killer ends first: under the
    /// unit's MemoryMax= it is the worker that holds the tree's memory, and the supervisor must live to
    /// record that the scan did not finish (raising one's own score needs no privilege). Best effort.
    private static func preferAsOOMVictim() {
        let fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = "1000\n".withCString { Glibc.write(fd, $0, 5) }
        Glibc.close(fd)
    }

    /// The worker's end of the "scan recorded" pipe (set once, on the main thread, before any other).
    nonisolated(unsafe) private static var workerDescriptor: Int32?

    /// The effective capabilities of a process, from /proc (`CapEff`), for diagnostics and tests.
    public static func effectiveCapabilities(of pid: pid_t) -> String? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        let n = Glibc.read(fd, &bytes, bytes.count)
        guard n > 0 else { return nil }
        let text = String(decoding: bytes[0..<n], as: UTF8.self)
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
        guard let fd = workerDescriptor else { return }
        var byte = report.byte
        _ = Glibc.write(fd, &byte, 1)
    }

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
    public static func run(_ executable: String, _ arguments: [String], seconds: Double, stuckMessage: String,
                           reports: [String], stuckMarker: StateDirectory? = nil) -> Result<Outcome, SystemCallError> {
        // Descriptors 0-2 must be open, or the pipes below would take their numbers and be crossed in the
        // worker.
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
            _ = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
        }
        // A caller that ignores SIGCHLD would make waitpid fail (ECHILD) and every status unknown.
        signal(SIGCHLD, SIG_DFL)
        func makePipe() -> (read: Int32, write: Int32)? {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { return nil }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            return (fds[0], fds[1])
        }
        guard let status = makePipe(), let out = makePipe() else {
            return .failure(SystemCallError("pipe", path: executable, errno: .current))
        }
        let err = isatty(2) == 1 ? nil : makePipe()
        var environment = [String]()
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix(descriptorKey + "="), !text.hasPrefix(parentKey + "=") { environment.append(text) }
            p += 1
        }
        environment += ["\(descriptorKey)=3", "\(parentKey)=\(getpid())"]
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for q in argv { free(q) }; for q in envp { free(q) } }
        var pid: pid_t = 0
        // The running binary itself (its path may name another file by now); `executable` stays argv[0].
        let rc = pd_spawn_worker(ChildProcess.runningImage ?? executable, argv, envp, out.write, err?.write ?? -1,
                                 status.write, &pid)
        for fd in [status.write, out.write, err?.write ?? -1] where fd >= 0 { Glibc.close(fd) }
        var relays = [(from: out.read, to: Int32(1))] + (err.map { [(from: $0.read, to: Int32(2))] } ?? [])
        defer {
            Glibc.close(status.read)
            for relay in relays { Glibc.close(relay.from) }
        }
        guard rc == 0 else { return .failure(SystemCallError("posix_spawn", path: executable, errno: Errno(rc))) }
        // The deadline is a thread of its own: nothing this loop blocks on (a caller that stops reading)
        // can keep the run from ending.
        let message = stuckMessage.replacingOccurrences(of: "%PID%", with: String(pid))
        if let stuckMarker {
            let text = "process \(pid), started \(ScanResult.timestamp(Date()))\n"
            if case .failure(let e) = Deadline.leaveMarker(in: stuckMarker.fd, name: StateDirectory.stuckFile, text: text) {
                let warning = "permdrift: cannot prepare the note of a stuck scan in the state directory: \(e.name)\n"
                _ = warning.withCString { Glibc.write(2, $0, strlen($0)) }
            }
        }
        if case .failure(let e) = Deadline.start(seconds: seconds, message: message, reports: reports) {
            kill(pid, SIGKILL)
            _ = WaitStatus.wait(for: pid)
            return .failure(SystemCallError("pthread_create (the supervisor's watchdog)", path: executable, errno: e))
        }
        // The supervisor reads nothing of the tree: the service account's CAP_DAC_READ_SEARCH is the
        // worker's alone. (Root keeps what uid 0 implies: reports it may have to remove can be anywhere.)
        if geteuid() != 0 && pd_drop_all_capabilities() != 0 {
            let text = "permdrift: cannot drop the supervisor's capabilities (capset: \(Errno.current.name)); they stay unused\n"
            _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
        }
        var statusOpen = true
        var lost = false
        var deadlinePassed = false
        var recorded = false
        /// Reads one byte the worker wrote (a `WorkerReport`).
        func readStatus() {
            var byte: UInt8 = 0
            let n = Glibc.read(status.read, &byte, 1)
            if n == 0 { statusOpen = false }
            guard n == 1, let report = WorkerReport(byte: byte) else { return }
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
                    var ready = pollfd(fd: status.read, events: Int16(POLLIN), revents: 0)
                    guard poll(&ready, 1, 0) > 0 else { break }
                    readStatus()
                }
                // The worker is gone: what the caller does next (recording an unfinished run) is not the
                // stuck worker this watchdog is for, and must not be cut short or taken for one.
                pd_watchdog_disarm()
                return .success(.exited(exitStatus.status, outputLost: lost, deadlinePassed: deadlinePassed,
                                        signal: exitStatus.signal, recorded: recorded))
            }
            var fds = relays.map { pollfd(fd: $0.from, events: Int16(POLLIN), revents: 0) }
            if statusOpen { fds.append(pollfd(fd: status.read, events: Int16(POLLIN), revents: 0)) }
            let r = fds.isEmpty ? Int32(usleep(200_000)) : poll(&fds, nfds_t(fds.count), 200)
            guard r > 0 else { continue }
            if statusOpen, let last = fds.last, last.revents != 0 { readStatus() }
            relay(&relays, buffer: &buffer, waitMilliseconds: 0, untilQuiet: false, lost: &lost)
        }
    }

    /// Copies what is waiting in the worker's pipes to this process's standard output and error; a pipe at
    /// its end is dropped. With `untilQuiet`, copies until no pipe has anything left.
    private static func relay(_ relays: inout [(from: Int32, to: Int32)], buffer: inout [UInt8], waitMilliseconds: Int32,
                              untilQuiet: Bool, lost: inout Bool) {
        repeat {
            guard !relays.isEmpty else { return }
            var fds = relays.map { pollfd(fd: $0.from, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), waitMilliseconds) > 0 else { return }
            var finished = [Int]()
            for (i, ready) in fds.enumerated() where ready.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(relays[i].from, $0.baseAddress, $0.count) }
                if n <= 0 {
                    if n == 0 || errno != EINTR { finished.append(i) }
                    continue
                }
                var written = 0
                while written < n {
                    let w = buffer.withUnsafeBytes { Glibc.write(relays[i].to, $0.baseAddress! + written, n - written) }
                    if w < 0 && errno == EINTR { continue }
                    if w < 0 && errno == EAGAIN {
                        // A non-blocking descriptor of the caller's: wait until it takes more.
                        var out = pollfd(fd: relays[i].to, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&out, 1, -1)
                        continue
                    }
                    if w <= 0 { lost = true; break }  // a full disk, a closed file: the run says so
                    written += w
                }
            }
            for i in finished.reversed() {
                Glibc.close(relays[i].from)
                relays.remove(at: i)
            }
        } while untilQuiet
    }

    private static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
