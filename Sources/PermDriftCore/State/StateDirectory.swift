import Foundation

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
    public let descriptor: FileDescriptor
    private var lockDescriptor: FileDescriptor?

    /// The directory's owner and group: the user running permdrift, or (`serviceOwned`) the service's.
    private var owner: UInt32 = 0
    private var ownerGroup: UInt32 = 0

    /// Opens and checks the directory: not a symlink, a directory, owned by the user running permdrift,
    /// mode 0700. `serviceOwned`: root may also use one that another account owns (the service's state
    /// directory, for `permdrift fix`, which only takes its lock and reads its baseline serial).
    public init(path: String, serviceOwned: Bool = false) throws(StateError) {
        let fd: FileDescriptor
        switch Syscalls.open(path, [.readOnly, .directory, .noFollow, .closeOnExec]) {
        case .success(let opened): fd = opened
        case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
            throw .untrusted(path: path, why: "is a symlink or not a directory; the state directory must be a directory of its own")
        case .failure(let e): throw .system(SystemCallError("open", path: path, errno: e))
        }
        let st: FileStatus
        switch Syscalls.stat(fd: fd) {
        case .success(let s): st = s
        case .failure(let e):
            fd.close()
            throw .system(SystemCallError("statx", path: path, errno: e))
        }
        let me = SystemAccounts.effectiveUserID
        if st.uid != me && !(serviceOwned && me == 0) {
            fd.close()
            throw .untrusted(path: path, why: "is owned by uid \(st.uid), not by the user running permdrift (uid \(me))")
        }
        if st.mode & 0o7777 != 0o700 {
            fd.close()
            throw .untrusted(path: path, why: "has mode \(ModeSpec.octal(st.mode)); the state directory must be 0700")
        }
        self.path = path
        descriptor = fd
        owner = st.uid
        ownerGroup = st.gid
    }

    deinit {
        lockDescriptor?.close()
        descriptor.close()
    }

    static let serialFile = "baseline-serial"
    /// Left by `permdrift scan` when it gave up on a worker stuck in the kernel (which keeps the lock).
    public static let stuckFile = "stuck"

    /// The note a supervisor left when its worker got stuck in the kernel ("process N, started T"),
    /// escaped for a terminal; nil when there is none. Meaningful while the lock is busy: whoever takes
    /// the lock removes it.
    public func stuckScan() -> String? {
        guard case .success(let bytes) = TrustedFile.read(relative: Self.stuckFile, in: descriptor, display: path, limit: 4096) else {
            return nil
        }
        let text = TerminalText.escape(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        return text.isEmpty ? "a scan stuck in the kernel" : text
    }

    /// A new descriptor of the directory (for a sandbox rule). When it cannot be made, one numbered -1,
    /// which every call refuses (EBADF): the sandbox's rule for it then fails and says so.
    public func pathDescriptor() -> FileDescriptor {
        switch Syscalls.duplicate(descriptor) {
        case .success(let fd): fd
        case .failure: FileDescriptor(rawValue: -1)
        }
    }

    /// The highest baseline serial this host has accepted, if any.
    public func highestSerial() throws(StateError) -> Int? {
        switch TrustedFile.read(relative: Self.serialFile, in: descriptor, display: path, limit: 64) {
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
        do { try AtomicFile.write(Array("\(serial)\n".utf8), in: descriptor, name: Self.serialFile, display: path, mode: 0o600) } catch {
            throw .system(error)
        }
    }

    /// Releases the run lock early (before handing the state to a delivery process).
    public func unlock() {
        lockDescriptor?.close()
        lockDescriptor = nil
    }

    /// Takes the run lock (`flock` on `lock` in the directory) for as long as this object lives. A lock
    /// file that is a symlink, not a regular file, not the user's own or readable by others is refused.
    /// `keepStuckNote`: leave a stuck scan's note for the service to record (`permdrift fix`).
    public func lock(keepStuckNote: Bool = false) throws(StateError) {
        let display = (path.hasSuffix("/") ? path : path + "/") + "lock"
        let opened: FileDescriptor
        let flags: OpenFlags = [.readWrite, .noFollow, .nonBlocking, .closeOnExec]
        let mine = owner == SystemAccounts.effectiveUserID
        // In another account's directory (root, for `fix`), a lock that is missing is made and given to
        // that account, so that its own runs can still open it.
        let open = "lock".withCString { name in
            mine
                ? Syscalls.openAt(descriptor, name, flags, creatingWith: 0o600)
                : Syscalls.openAt(descriptor, name, flags).flatMapError { e in
                    guard e == .noEntry else { return .failure(e) }
                    return Syscalls.createExclusive(descriptor, name, mode: 0o600).flatMap { fd in
                        if case .failure(let e) = Syscalls.changeOwner(fd, uid: owner, gid: ownerGroup) {
                            fd.close()
                            return .failure(e)
                        }
                        return .success(fd)
                    }
                }
        }
        switch open {
        case .success(let fd): opened = fd
        case .failure(let e) where e == .tooManyLinks: throw .untrusted(path: display, why: "is a symlink; refusing to use it as the lock")
        case .failure(let e): throw .system(SystemCallError("openat", path: display, errno: e))
        }
        guard case .success(let st) = Syscalls.stat(fd: opened), st.type == .file else {
            opened.close()
            throw .untrusted(path: display, why: "is not a regular file")
        }
        if st.uid != owner || st.mode & 0o077 != 0 {
            opened.close()
            throw .untrusted(
                path: display,
                why:
                    "is owned by uid \(st.uid) with mode \(ModeSpec.octal(st.mode)); the lock must be \(mine ? "the running user's" : "the directory owner's") own, 0600"
            )
        }
        if case .failure(let e) = Syscalls.lockExclusive(opened) {
            opened.close()
            if e == .wouldBlock { throw .busy(path: display) }
            throw .system(SystemCallError("flock", path: display, errno: e))
        }
        lockDescriptor = opened
        // The lock is free, so a stuck worker that left a note is gone.
        if !keepStuckNote, case .success = Self.stuckFile.withCString({ Syscalls.unlinkAt(descriptor, $0) }) {
            clearedStuckNote = true
        }
    }

    /// Whether taking the lock removed a stuck scan's note (`stuckFile`): the alerts sent while it was
    /// stuck were not recorded, and the holder of the lock records them (`AlertBuilder.rememberStuck`).
    public private(set) var clearedStuckNote = false
}
