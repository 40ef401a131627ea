import CPermDrift
import Glibc

/// A child process started with `posix_spawn` (no helper thread, unlike Foundation's `Process`, so
/// nothing in this process escapes a Landlock restriction applied later), its standard input a pipe;
/// and `run`, which runs a program to its end with its input given and its output collected. Every
/// program permdrift starts is started here.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    /// The write end of the child's standard input.
    public let input: Int32

    /// Starts the running binary again (`runningImage`, else `executable`, which is its path and argv[0])
    /// with `arguments` (argv[1…]), inheriting standard output and error.
    public static func spawnItself(_ executable: String, _ arguments: [String]) -> Result<ChildProcess, SystemCallError> {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .failure(SystemCallError("pipe", path: executable, errno: .current)) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, runningImage ?? executable, &actions, nil, argv, environ)
        Glibc.close(fds[0])
        guard rc == 0 else {
            Glibc.close(fds[1])
            return .failure(SystemCallError("posix_spawn", path: executable, errno: Errno(rc)))
        }
        return .success(ChildProcess(pid: pid, input: fds[1]))
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
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           input: [UInt8], limit: Int = 1 << 20) -> Result<Output, SystemCallError> {
        var pipes: [[Int32]] = []
        func closeAll() { for p in pipes { for fd in p where fd >= 0 { Glibc.close(fd) } } }
        for _ in 0..<3 {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else {
                let e = Errno.current
                closeAll()
                return .failure(SystemCallError("pipe", path: executable, errno: e))
            }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            pipes.append(fds)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        signal(SIGPIPE, SIG_IGN)  // a child that exits before reading its input must not end this process
        var pid: pid_t = 0
        let rc = pd_spawn_program(executable, argv, envp, pipes[0][0], pipes[1][1], pipes[2][1], &pid)
        // The child's ends are the child's now.
        Glibc.close(pipes[0][0]); pipes[0][0] = -1
        Glibc.close(pipes[1][1]); pipes[1][1] = -1
        Glibc.close(pipes[2][1]); pipes[2][1] = -1
        guard rc == 0 else {
            closeAll()
            return .failure(SystemCallError("posix_spawn", path: executable, errno: Errno(rc)))
        }
        let toChild = pipes[0][1]
        _ = fcntl(toChild, F_SETFL, fcntl(toChild, F_GETFL) | O_NONBLOCK)
        var written = 0
        var outputs: [[UInt8]] = [[], []]
        var open = [input.isEmpty ? false : true, true, true]
        if input.isEmpty { Glibc.close(toChild); pipes[0][1] = -1 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var failure: SystemCallError?
        while open[1] || open[2] {
            var polled = [pollfd(fd: open[0] ? toChild : -1, events: Int16(POLLOUT), revents: 0),
                          pollfd(fd: open[1] ? pipes[1][0] : -1, events: Int16(POLLIN), revents: 0),
                          pollfd(fd: open[2] ? pipes[2][0] : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&polled, 3, -1) < 0 {
                if errno == EINTR { continue }
                failure = SystemCallError("poll", path: executable, errno: .current)
                break
            }
            if open[0], polled[0].revents != 0 {
                let n = input.withUnsafeBytes { Glibc.write(toChild, $0.baseAddress! + written, $0.count - written) }
                if n > 0 { written += n }
                if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    // All given, or the child stopped reading (EPIPE): it sees the end of its input.
                    Glibc.close(toChild); pipes[0][1] = -1
                    open[0] = false
                }
            }
            for k in 1...2 where open[k] && polled[k].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(pipes[k][0], $0.baseAddress, $0.count) }
                if n > 0 {
                    outputs[k - 1].append(contentsOf: buffer[..<min(n, max(0, limit - outputs[k - 1].count))])
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    open[k] = false
                }
            }
        }
        closeAll()
        // With the output pipes closed, a child still writing gets EPIPE and ends; wait for it either way.
        let status = ChildProcess(pid: pid, input: -1).wait()
        if let failure { return .failure(failure) }
        return .success(Output(status: status, stdout: outputs[0], stderr: outputs[1]))
    }

    /// Empties this process's ambient capability set: programs it starts afterwards get no capability
    /// from it, while its own capabilities stay.
    public static func clearAmbientCapabilities() { _ = pd_clear_ambient_capabilities() }

    /// Writes `text` to the child's standard input and closes it.
    public func send(_ text: String) {
        signal(SIGPIPE, SIG_IGN)  // a child that already exited must not end this process
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(input, $0.baseAddress, $0.count) }
        Glibc.close(input)
    }

    /// Waits for the child; returns its exit status (128+N for a signal).
    public func wait() -> Int32 {
        (WaitStatus.wait(for: pid) ?? .unknown).status
    }

    /// What to execute to start the running binary again: `/proc/self/exe`, which is this process's
    /// image even when its path names another file by now (a package upgrade renames the new binary over
    /// it) or none ("… (deleted)"); nil where /proc is not there.
    public static var runningImage: String? {
        var st = stat()
        return stat("/proc/self/exe", &st) == 0 ? "/proc/self/exe" : nil
    }

    /// The running executable (`/proc/self/exe`), resolved before a sandbox hides /proc.
    public static func currentExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
