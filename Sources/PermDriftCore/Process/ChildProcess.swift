/// A child process started with `posix_spawn` (`Spawn`: no helper thread, unlike Foundation's
/// `Process`, so nothing in this process escapes a Landlock restriction applied later), its standard
/// input a pipe; and `run`, which runs a program to its end with its input given and its output
/// collected. Every program permdrift starts is started here.
public struct ChildProcess: Sendable {
    public let pid: Int32
    /// The write end of the child's standard input.
    public let input: FileDescriptor

    /// Starts the running binary again (`runningImage`, else `executable`, which is its path and argv[0])
    /// with `arguments` (argv[1…]), inheriting standard output and error.
    public static func spawnItself(_ executable: String, _ arguments: [String]) -> Result<ChildProcess, SystemCallError> {
        let pipe: (read: FileDescriptor, write: FileDescriptor)
        switch Syscalls.makePipe() {
        case .success(let p): pipe = p
        case .failure(let e): return .failure(SystemCallError("pipe", path: executable, errno: e))
        }
        let spawned = Spawn.inheriting(runningImage ?? executable, arguments: [executable] + arguments, input: pipe.read)
        pipe.read.close()
        switch spawned {
        case .success(let pid): return .success(ChildProcess(pid: pid, input: pipe.write))
        case .failure(let e):
            pipe.write.close()
            return .failure(SystemCallError("posix_spawn", path: executable, errno: e))
        }
    }

    /// What a program run with `run` wrote and how it ended.
    public struct Output: Sendable {
        /// Its exit status (128+N for signal N).
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: [UInt8]
    }

    /// Runs `executable` (also its argv[0]) with `arguments` and exactly `environment`, writes `input` to
    /// its standard input and collects its standard output and error (each up to `limit` bytes; the rest
    /// is read and dropped), then waits for it. Nothing but `posix_spawn`, pipes and `poll`: no helper
    /// thread, run loop or socket (Foundation's `Process` needs an `AF_INET` socket pair, which the
    /// service's `RestrictAddressFamilies=AF_UNIX` refuses, and libdispatch threads, which cannot take
    /// the priority they ask for under `CPUSchedulingPolicy=idle`). The child starts with no signal
    /// blocked, SIGPIPE at its default action, and no descriptor but its three standard ones.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String],
        input: [UInt8], limit: Int = 1 << 20
    ) -> Result<Output, SystemCallError> {
        // The descriptors this process still holds; each is closed (and set to nil) once done with.
        var pipes: [(read: FileDescriptor?, write: FileDescriptor?)] = []
        func closeAll() { for p in pipes { p.read?.close(); p.write?.close() } }
        for _ in 0..<3 {
            switch Syscalls.makePipe() {
            case .success(let p): pipes.append((p.read, p.write))
            case .failure(let e):
                closeAll()
                return .failure(SystemCallError("pipe", path: executable, errno: e))
            }
        }
        let toChild = pipes[0].write!, fromChild = [pipes[1].read!, pipes[2].read!]
        Syscalls.ignoreBrokenPipe()  // a child that exits before reading its input must not end this process
        let spawned = Spawn.program(
            executable, arguments: [executable] + arguments,
            environment: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            input: pipes[0].read!, output: pipes[1].write!, error: pipes[2].write!)
        // The child's ends are the child's now.
        pipes[0].read!.close(); pipes[0].read = nil
        pipes[1].write!.close(); pipes[1].write = nil
        pipes[2].write!.close(); pipes[2].write = nil
        let pid: Int32
        switch spawned {
        case .success(let p): pid = p
        case .failure(let e):
            closeAll()
            return .failure(SystemCallError("posix_spawn", path: executable, errno: e))
        }
        toChild.setNonBlocking()
        var written = 0
        var outputs: [[UInt8]] = [[], []]
        var open = [input.isEmpty ? false : true, true, true]
        if input.isEmpty { toChild.close(); pipes[0].write = nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var failure: SystemCallError?
        while open[1] || open[2] {
            let polled = Syscalls.pollReady(
                [
                    (open[0] ? toChild : nil, .writable), (open[1] ? fromChild[0] : nil, .readable),
                    (open[2] ? fromChild[1] : nil, .readable)
                ], milliseconds: -1)
            guard case .success(let ready) = polled else {
                failure = polled.failure.map { SystemCallError("poll", path: executable, errno: $0) }
                break
            }
            if open[0], ready[0] {
                let n = input.withUnsafeBytes { toChild.writeSome(UnsafeRawBufferPointer(rebasing: $0[written...])) }
                if case .success(let count) = n { written += count }
                if written == input.count || (n.failure.map { $0 != .wouldBlock } ?? false) {
                    // All given, or the child stopped reading (EPIPE): it sees the end of its input.
                    toChild.close(); pipes[0].write = nil
                    open[0] = false
                }
            }
            for k in 1...2 where open[k] && ready[k] {
                switch buffer.withUnsafeMutableBytes({ fromChild[k - 1].readSome(into: $0) }) {
                case .success(let n) where n > 0:
                    outputs[k - 1].append(contentsOf: buffer[..<min(n, max(0, limit - outputs[k - 1].count))])
                case .success: open[k] = false
                case .failure(let e) where e != .wouldBlock: open[k] = false
                case .failure: break
                }
            }
        }
        closeAll()
        // With the output pipes closed, a child still writing gets EPIPE and ends; wait for it either way.
        let status = (WaitStatus.wait(for: pid) ?? .unknown).status
        if let failure { return .failure(failure) }
        return .success(Output(status: status, stdout: outputs[0], stderr: outputs[1]))
    }

    /// Empties this process's ambient capability set: programs it starts afterwards get no capability
    /// from it, while its own capabilities stay.
    public static func clearAmbientCapabilities() { CurrentProcess.clearAmbientCapabilities() }

    /// Writes `text` to the child's standard input and closes it.
    public func send(_ text: String) {
        Syscalls.ignoreBrokenPipe()  // a child that already exited must not end this process
        input.writeOnce(Array(text.utf8))
        input.close()
    }

    /// Waits for the child; returns its exit status (128+N for a signal).
    public func wait() -> Int32 {
        (WaitStatus.wait(for: pid) ?? .unknown).status
    }

    /// What to execute to start the running binary again: `/proc/self/exe`, which is this process's
    /// image even when its path names another file by now (a package upgrade renames the new binary over
    /// it) or none ("… (deleted)"); nil where /proc is not there.
    public static var runningImage: String? { CurrentProcess.runningImage }

    /// The running executable (`/proc/self/exe`), resolved before a sandbox hides /proc.
    public static func currentExecutable() -> String? { CurrentProcess.executablePath() }
}

extension Result {
    /// The error, if this is a failure.
    fileprivate var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
