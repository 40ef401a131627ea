import CPermDrift
import Foundation
import Glibc

/// Why the state directory or its lock cannot be used.
public enum StateError: Error, Sendable, CustomStringConvertible {
    /// Someone else could change it, or it is not what it should be.
    case untrusted(path: String, why: String)
    /// Another run holds the lock.
    case busy(path: String)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .untrusted(let path, let why): "\(TerminalText.escape(path)): \(why)"
        case .busy(let path): "another permdrift run holds \(TerminalText.escape(path)); this run does nothing"
        case .system(let e): e.description
        }
    }
}

/// The service's state directory (`--state-dir`, systemd's `StateDirectory=`): the account's own, 0700,
/// never a symlink, and the lock that keeps two runs from overlapping.
public final class StateDirectory {
    public let path: String
    /// The directory, open for `openat`.
    public let fd: Int32
    private var lockFD: Int32 = -1

    /// Opens and checks the directory: not a symlink, a directory, owned by the user running permdrift,
    /// mode 0700.
    public init(path: String) throws(StateError) {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            let e = Errno.current
            if e == .tooManyLinks || e == .notDirectory {
                throw .untrusted(path: path, why: "is a symlink or not a directory; the state directory must be a directory of its own")
            }
            throw .system(SystemCallError("open", path: path, errno: e))
        }
        guard case .success(let st) = Syscalls.stat(fd: fd) else {
            let e = Errno.current
            Syscalls.close(fd)
            throw .system(SystemCallError("statx", path: path, errno: e))
        }
        let me = geteuid()
        if st.uid != me {
            Syscalls.close(fd)
            throw .untrusted(path: path, why: "is owned by uid \(st.uid), not by the user running permdrift (uid \(me))")
        }
        if st.mode & 0o7777 != 0o700 {
            Syscalls.close(fd)
            throw .untrusted(path: path, why: "has mode \(ModeSpec.octal(st.mode)); the state directory must be 0700")
        }
        self.path = path
        self.fd = fd
    }

    deinit {
        if lockFD >= 0 { Syscalls.close(lockFD) }
        Syscalls.close(fd)
    }

    static let serialFile = "baseline-serial"
    /// Left by `permdrift scan` when it gave up on a worker stuck in the kernel (which keeps the lock).
    public static let stuckFile = "stuck"

    /// The note a supervisor left when its worker got stuck in the kernel ("process N, started T"),
    /// escaped for a terminal; nil when there is none. Meaningful while the lock is busy: whoever takes
    /// the lock removes it.
    public func stuckScan() -> String? {
        guard case .success(let bytes) = TrustedFile.read(relative: Self.stuckFile, under: path, limit: 4096) else { return nil }
        let text = TerminalText.escape(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        return text.isEmpty ? "a scan stuck in the kernel" : text
    }

    /// A new `O_PATH` descriptor of the directory (for a sandbox rule).
    public func pathDescriptor() -> Int32 { Glibc.dup(fd) }

    /// The highest baseline serial this host has accepted, if any.
    public func highestSerial() throws(StateError) -> Int? {
        switch TrustedFile.read(relative: Self.serialFile, under: path, limit: 64) {
        case .success(let bytes):
            guard let n = Int(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw .untrusted(path: path + "/" + Self.serialFile, why: "does not hold a serial number; it is corrupt, not trusted")
            }
            return n
        case .failure(.missing): return nil
        case .failure(let e): throw .untrusted(path: path + "/" + Self.serialFile, why: e.description)
        }
    }

    /// Records a newly accepted baseline serial (atomically).
    public func recordSerial(_ serial: Int) throws(StateError) {
        do { try AtomicFile.write("\(serial)\n", to: path + "/" + Self.serialFile, mode: 0o600) } catch { throw .system(error) }
    }

    /// Releases the run lock early (before handing the state to a delivery process).
    public func unlock() {
        if lockFD >= 0 { Syscalls.close(lockFD) }
        lockFD = -1
    }

    /// Takes the run lock (`flock` on `lock` in the directory) for as long as this object lives. A lock
    /// file that is a symlink, not a regular file, not the user's own or readable by others is refused.
    public func lock() throws(StateError) {
        let display = (path.hasSuffix("/") ? path : path + "/") + "lock"
        let opened = "lock".withCString { name in
            Glibc.openat(fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        }
        guard opened >= 0 else {
            let e = Errno.current
            if e == .tooManyLinks { throw .untrusted(path: display, why: "is a symlink; refusing to use it as the lock") }
            throw .system(SystemCallError("openat", path: display, errno: e))
        }
        guard case .success(let st) = Syscalls.stat(fd: opened), FileType(mode: st.mode) == .file else {
            Syscalls.close(opened)
            throw .untrusted(path: display, why: "is not a regular file")
        }
        if st.uid != geteuid() || st.mode & 0o077 != 0 {
            Syscalls.close(opened)
            throw .untrusted(path: display, why: "is owned by uid \(st.uid) with mode \(ModeSpec.octal(st.mode)); the lock must be the running user's own, 0600")
        }
        if pd_flock_exclusive(opened) != 0 {
            let e = Errno.current
            Syscalls.close(opened)
            if e.rawValue == EWOULDBLOCK { throw .busy(path: display) }
            throw .system(SystemCallError("flock", path: display, errno: e))
        }
        lockFD = opened
        // The lock is free, so a stuck worker that left a note is gone.
        if Self.stuckFile.withCString({ unlinkat(fd, $0, 0) }) == 0 { clearedStuckNote = true }
    }

    /// Whether taking the lock removed a stuck scan's note (`stuckFile`): the alerts sent while it was
    /// stuck were not recorded, and the holder of the lock records them (`AlertBuilder.rememberStuck`).
    public private(set) var clearedStuckNote = false
}
