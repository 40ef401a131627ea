import Glibc

/// Mount events of this process's mount namespace, seen through one open `/proc/self/mountinfo`:
/// `poll` reports POLLPRI once after every mount or unmount since the previous poll of the same open
/// file. One watch belongs to one thread (a poll consumes the event for that open file only). Opened
/// before the sandbox closes /proc.
public final class MountWatch: @unchecked Sendable {
    private let fd: FileDescriptor

    public init?() {
        guard case .success(let fd) = Syscalls.open("/proc/self/mountinfo", [.readOnly, .closeOnExec]) else { return nil }
        self.fd = fd
        _ = changed()
    }

    deinit { fd.close() }

    /// Mount events seen by `poll` so far (a poll that cannot tell counts as one).
    private(set) var seen = 0

    /// Polls for mount events and returns how many have been seen: a read made between two polls that
    /// return the same number saw no mount or unmount meanwhile.
    func poll() -> Int {
        if changed() { seen += 1 }
        return seen
    }

    /// Whether a mount was made or removed since the last call (true as well when it cannot tell).
    private func changed() -> Bool {
        var p = pollfd(fd: fd.rawValue, events: Int16(POLLPRI), revents: 0)
        while true {
            let r = Glibc.poll(&p, 1, 0)
            if r >= 0 { return p.revents & Int16(POLLPRI | POLLERR | POLLNVAL) != 0 }
            if errno != EINTR { return true }
        }
    }
}
