import CPermDrift
import Glibc

/// This process as the kernel sees it: its ids, its capabilities, how it ends, and what /proc says
/// about it (and about another process, for diagnostics).
public enum CurrentProcess {
    /// Its process id.
    public static var id: Int32 { getpid() }

    /// Its parent's process id (1, or a subreaper's, once the parent is gone).
    public static var parentID: Int32 { getppid() }

    /// Its effective user id.
    public static var effectiveUserID: UInt32 { geteuid() }

    /// `path` made absolute against the working directory, without trailing slashes; no symlink is
    /// resolved.
    public static func absolutePath(_ path: String) -> String {
        var p = path
        if !p.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                p = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + p
            }
        }
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// Ends the process at once with `status`: no exit handlers, no buffers flushed (what a process
    /// that must not go on does).
    public static func exitImmediately(_ status: Int32) -> Never {
        _exit(status)
    }

    /// Stops the process (SIGSTOP) until something continues it.
    static func stop() {
        _ = raise(SIGSTOP)
    }

    /// Sleeps for `interval`.
    static func sleep(for interval: Duration) {
        let (seconds, attoseconds) = interval.components
        usleep(useconds_t(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
    }

    /// prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills this process when its parent ends.
    static func dieWithParent() {
        _ = pd_die_with_parent()
    }

    /// Empties the ambient capability set: programs started afterwards get no capability from it, while
    /// this process's own capabilities stay.
    static func clearAmbientCapabilities() {
        _ = pd_clear_ambient_capabilities()
    }

    /// Drops every capability: ambient, inheritable, permitted and effective.
    static func dropAllCapabilities() -> Result<Void, Errno> {
        pd_drop_all_capabilities() == 0 ? .success(()) : .failure(.current)
    }

    /// Makes this process the one the kernel's out-of-memory killer ends first (raising one's own
    /// score needs no privilege). Best effort.
    static func preferAsOOMVictim() {
        let fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        FileDescriptor(rawValue: fd).closeAfter { $0.writeOnce(Array("1000\n".utf8)) }
    }

    /// `/proc/self/exe` when /proc shows it: this process's image even when its path names another file
    /// by now or none.
    static var runningImage: String? {
        var st = stat()
        return stat("/proc/self/exe", &st) == 0 ? "/proc/self/exe" : nil
    }

    /// The path of the running executable (the target of `/proc/self/exe`); nil where /proc is not there.
    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The text of /proc/PID/status (its first 8 KiB, one read); nil when it cannot be read.
    static func procStatus(of pid: Int32) -> String? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        return FileDescriptor(rawValue: fd).closeAfter { fd in
            var bytes = [UInt8](repeating: 0, count: 8192)
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            return String(decoding: bytes[0..<n], as: UTF8.self)
        }
    }
}
