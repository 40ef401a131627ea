import CPermDrift
import Glibc

/// A child process started with `posix_spawn` (no helper thread, unlike Foundation's `Process`, so
/// nothing in this process escapes a Landlock restriction applied later), its standard input a pipe.
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
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
        if r < 0 { return 255 }  // the child's status is unknown: never read as success
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
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
