import CPermDrift
import Glibc

/// An `O_PATH` handle on one inode of a scanned tree: the only way `permdrift fix` changes anything
/// (docs/design.md, "Repair"). It is reached from the host root one component at a time, each opened
/// relative to the last with `O_NOFOLLOW`, so no symlink is ever followed; opening with `O_PATH` reads
/// nothing and never blocks on a FIFO or wakes a device. Changes go through the descriptor
/// (`fchownat(fd, "", AT_EMPTY_PATH)`) or, where Linux has no call for an `O_PATH` descriptor (chmod,
/// the xattrs), through `/proc/self/fd/N`, which names this inode and no path an agent could swap.
struct InodeHandle {
    let descriptor: FileDescriptor

    /// Why a path could not be opened as the scan saw it.
    enum OpenFailure: Error {
        /// A component is missing, a symlink, or not a directory: the tree changed since the scan.
        case changed(String)
        case failed(syscall: String, Errno)
    }

    /// Opens `path` under the host root `root`, never following a symlink on the way or at the end.
    static func open(root: FileDescriptor, path: HostPath) -> Result<InodeHandle, OpenFailure> {
        var current: FileDescriptor
        switch Syscalls.duplicate(root) {
        case .success(let fd): current = fd
        case .failure(let e): return .failure(.failed(syscall: "dup", e))
        }
        let components = path.segments
        if components.isEmpty { return .success(InodeHandle(descriptor: current)) }
        var walked = ""
        for (i, component) in components.enumerated() {
            walked += "/" + String(decoding: component, as: UTF8.self)
            let isLast = i == components.count - 1
            var flags: OpenFlags = [.pathOnly, .noFollow]
            if !isLast { flags.insert(.directory) }
            var name = Array(component)
            name.append(0)
            let opened = name.withUnsafeBufferPointer { buffer in
                Syscalls.openAt(current, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), flags)
            }
            current.close()
            switch opened {
            case .success(let next): current = next
            case .failure(let e) where e == .noEntry:
                return .failure(.changed("\(TerminalText.escape(walked)) no longer exists"))
            case .failure(let e) where e == .notDirectory || e == .tooManyLinks:
                return .failure(.changed("\(TerminalText.escape(walked)) is no longer a directory (a symlink is never followed)"))
            case .failure(let e): return .failure(.failed(syscall: "openat", e))
            }
        }
        return .success(InodeHandle(descriptor: current))
    }

    func close() { descriptor.close() }

    /// Whether `/proc/self/fd` is procfs: the changes made through it name this process's descriptors
    /// only there (a chroot or container may lack it, or have something else there).
    static var procIsMounted: Bool {
        guard case .success(let fd) = Syscalls.open("/proc/self/fd", [.pathOnly, .directory, .noFollow]) else { return false }
        defer { fd.close() }
        return Syscalls.filesystemType(fd) == 0x9fa0  // PROC_SUPER_MAGIC
    }

    func status() -> Result<FileStatus, Errno> { Syscalls.stat(fd: descriptor) }

    /// `/proc/self/fd/N`: this inode, for the calls that take a path.
    private var procPath: String { "/proc/self/fd/\(descriptor.rawValue)" }

    /// The value of an extended attribute; nil when the inode has none of that name.
    func attribute(_ name: String) -> Result<[UInt8]?, Errno> {
        var size = 256
        while true {
            var buffer = [UInt8](repeating: 0, count: size)
            let n = buffer.withUnsafeMutableBytes { b in pd_getxattr_following(procPath, name, b.baseAddress, b.count) }
            if n >= 0 { return .success(Array(buffer[0..<n])) }
            let e = Errno.current
            if e == .noData { return .success(nil) }
            if e == .rangeTooSmall, size < 65536 {
                size *= 4
                continue
            }
            return .failure(e)
        }
    }

    /// Sets an extended attribute (for `system.posix_acl_*`, the kernel applies the ACL: a minimal access
    /// ACL becomes mode bits and no attribute).
    func setAttribute(_ name: String, _ value: [UInt8]) -> Result<Void, Errno> {
        let r = value.withUnsafeBytes { b in pd_setxattr_following(procPath, name, b.baseAddress, b.count) }
        return r == 0 ? .success(()) : .failure(.current)
    }

    /// Removes an extended attribute; one that is not there is not an error.
    func removeAttribute(_ name: String) -> Result<Void, Errno> {
        if pd_removexattr_following(procPath, name) == 0 { return .success(()) }
        let e = Errno.current
        return e == .noData ? .success(()) : .failure(e)
    }

    /// chmod of the inode (the 12 mode bits).
    func changeMode(_ mode: UInt32) -> Result<Void, Errno> {
        Glibc.chmod(procPath, mode_t(mode & 0o7777)) == 0 ? .success(()) : .failure(.current)
    }

    /// The owner and group of the inode; nil leaves that one as it is.
    func changeOwner(uid: UInt32?, gid: UInt32?) -> Result<Void, Errno> {
        pd_chown_descriptor(descriptor.rawValue, uid ?? UInt32.max, gid ?? UInt32.max) == 0 ? .success(()) : .failure(.current)
    }
}
