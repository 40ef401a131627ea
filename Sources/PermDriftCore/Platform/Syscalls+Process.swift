import Glibc

/// The system calls of the process model (`Process/`): pipes, `poll`, `waitpid`, `kill` and signal
/// dispositions. Each retries `EINTR` where a caller would only retry it, and reports failure as an
/// `Errno` value.
extension Syscalls {
    /// A pipe whose two ends are closed on exec: a child gets one only as a descriptor its spawn
    /// actions give it.
    static func makePipe() -> Result<(read: FileDescriptor, write: FileDescriptor), Errno> {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .failure(.current) }
        let ends = (read: FileDescriptor(rawValue: fds[0]), write: FileDescriptor(rawValue: fds[1]))
        ends.read.setCloseOnExec()
        ends.write.setCloseOnExec()
        return .success(ends)
    }

    /// Opens /dev/null on each of descriptors 0-2 that is not open, so that descriptors opened later
    /// (the supervisor's pipes) cannot take their numbers and be crossed in a child.
    static func openMissingStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
            _ = Glibc.open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
        }
    }

    /// Puts SIGCHLD back to its default action: a caller that ignores it would make `waitpid` fail
    /// (ECHILD) and every status unknown.
    static func restoreDefaultChildSignal() {
        signal(SIGCHLD, SIG_DFL)
    }

    /// Ignores SIGPIPE: a child that exits before reading its input must not end this process.
    static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// What `pollReady` waits for on a descriptor.
    enum PollInterest {
        case readable, writable
    }

    /// Waits up to `milliseconds` (-1: without limit) until one of `descriptors` is ready, retrying
    /// `EINTR`. Returns, for each, whether it is ready (readable, writable, at its end or in error); a
    /// nil descriptor is ignored and never ready.
    static func pollReady(_ descriptors: [(FileDescriptor?, PollInterest)], milliseconds: Int32) -> Result<[Bool], Errno> {
        var fds = descriptors.map { fd, interest in
            pollfd(fd: fd?.rawValue ?? -1, events: Int16(interest == .readable ? POLLIN : POLLOUT), revents: 0)
        }
        while true {
            let r = poll(&fds, nfds_t(fds.count), milliseconds)
            if r >= 0 { return .success(fds.map { $0.revents != 0 }) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    /// Waits for the child `pid` (retrying `EINTR`): its raw `waitpid` status, or nil when it is still
    /// running and not `block`.
    static func waitForChild(_ pid: Int32, block: Bool) -> Result<Int32?, Errno> {
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, block ? 0 : WNOHANG)
            if r > 0 { return .success(raw) }
            if r == 0 { return .success(nil) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    /// Sends SIGKILL to `pid`.
    static func killProcess(_ pid: Int32) {
        _ = kill(pid, SIGKILL)
    }
}

/// Signal numbers the process model names.
public enum ProcessSignal {
    /// SIGKILL, which no process can catch (the out-of-memory killer's).
    public static let kill: Int32 = SIGKILL

    /// The C library's name for signal `number` ("Terminated").
    public static func describe(_ number: Int32) -> String {
        String(cString: strsignal(number))
    }
}

extension FileDescriptor {
    /// Closed when this process executes another program.
    func setCloseOnExec() {
        _ = fcntl(rawValue, F_SETFD, FD_CLOEXEC)
    }

    /// Its writes return EAGAIN instead of blocking.
    func setNonBlocking() {
        _ = fcntl(rawValue, F_SETFL, fcntl(rawValue, F_GETFL) | O_NONBLOCK)
    }

    /// Whether it is open and a pipe (a FIFO).
    var isPipe: Bool {
        var st = stat()
        return fstat(rawValue, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO
    }

    /// Whether it is a terminal.
    public var isTerminal: Bool { isatty(rawValue) == 1 }

    /// Reads what is there, up to the buffer's size, retrying `EINTR`: the count read, 0 at the end.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        Syscalls.read(self, into: buffer)
    }

    /// Writes what the descriptor takes of `buffer` in one call, retrying `EINTR`: the count written.
    func writeSome(_ buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        Syscalls.write(self, buffer)
    }

    /// Writes `bytes` with one `write` (a short message or a report byte), ignoring how it went.
    func writeOnce(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { writeSome($0) }
    }
}
