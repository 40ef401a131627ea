/// How a child process ended, decoded from `waitpid`'s status (the `WIFEXITED`, `WEXITSTATUS` and
/// `WTERMSIG` macros, which Swift does not import). Every `waitpid` of permdrift's goes through `wait`.
public struct WaitStatus: Sendable, Equatable {
    /// The status as a shell gives it: the exit status, or 128+N for signal N; 255 when it is unknown.
    public let status: Int32
    /// The signal that ended the process, if one did.
    public let signal: Int32?

    /// Decodes a status `waitpid` filled in (a process waited for without `WUNTRACED`: exited or killed).
    public init(raw: Int32) {
        if raw & 0x7f == 0 {
            status = (raw >> 8) & 0xff
            signal = nil
        } else {
            status = 128 + (raw & 0x7f)
            signal = raw & 0x7f
        }
    }

    init(status: Int32, signal: Int32?) {
        self.status = status
        self.signal = signal
    }

    /// `waitpid` failed, so how the process ended is unknown: never read as success.
    public static let unknown = WaitStatus(status: 255, signal: nil)

    /// Waits for `pid` (retrying on `EINTR`); nil when it is still running and not `block`.
    public static func wait(for pid: Int32, block: Bool = true) -> WaitStatus? {
        switch Syscalls.waitForChild(pid, block: block) {
        case .success(let raw): raw.map(WaitStatus.init(raw:))
        case .failure: .unknown
        }
    }
}
