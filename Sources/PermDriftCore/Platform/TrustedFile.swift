import CPermDrift
import Glibc

/// Reads small files permdrift trusts only as far as their path: every component opened relative to the
/// previous one with `O_NOFOLLOW`, so a symlink planted under a scanned root (`etc -> /etc`) is refused
/// instead of followed.
public enum TrustedFile {
    public enum ReadError: Error, Sendable, CustomStringConvertible {
        case missing(path: String)
        case system(SystemCallError)
        case notRegularFile(path: String)
        case tooLarge(path: String, limit: Int)
        case untrusted(path: String, why: String)

        public var description: String {
            switch self {
            case .missing(let p): "\(p): no such file"
            case .system(let e): e.description
            case .notRegularFile(let p): "\(p): not a regular file (symlinks are not followed)"
            case .tooLarge(let p, let limit): "\(p): larger than \(limit) bytes"
            case .untrusted(let p, let why): "\(p): \(why)"
            }
        }
    }

    /// Reads `relative` (e.g. `etc/passwd`) below the directory `root`, following no symlink below `root`
    /// and opening nothing but a regular file (a FIFO or device planted there is refused unopened).
    public static func read(relative: String, under root: String, limit: Int = 64 << 20) -> Result<[UInt8], ReadError> {
        switch Syscalls.open(root, [.readOnly, .directory, .closeOnExec]) {
        case .success(let opened):
            defer { opened.close() }
            return read(relative: relative, in: opened, display: root, limit: limit)
        case .failure(let e): return .failure(.system(SystemCallError("open", path: root, errno: e)))
        }
    }

    /// As `read(relative:under:)`, from an open directory (never re-resolving a path to it); `display`
    /// names the directory in errors.
    public static func read(relative: String, in directory: FileDescriptor, display root: String, limit: Int = 64 << 20)
        -> Result<[UInt8], ReadError>
    {
        let display = root.hasSuffix("/") ? root + relative : root + "/" + relative
        var fd: FileDescriptor
        switch Syscalls.duplicate(directory) {
        case .success(let opened): fd = opened
        case .failure(let e): return .failure(.system(SystemCallError("dup", path: root, errno: e)))
        }
        let parts = relative.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let flags: OpenFlags = last ? [.pathOnly, .noFollow] : .scannedDirectory
            let next = part.withCString { Syscalls.openAt(fd, $0, flags) }
            fd.close()
            switch next {
            case .success(let n): fd = n
            case .failure(let e) where e == .noEntry: return .failure(.missing(path: display))
            case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
                return .failure(.notRegularFile(path: display))
            case .failure(let e): return .failure(.system(SystemCallError("openat", path: display, errno: e)))
            }
        }
        return readPinned(fd, display: display, limit: limit) { _ in nil }
    }

    /// Opens a file named on the command line (a baseline, a signature), refusing a symlink, anything but a
    /// regular file, and — when `requireTrustedOwner` — a file that another user than root or the caller
    /// owns or that group or others may write, or one in a directory (anywhere on its path) that someone
    /// else could change: owned by another user, or writable by group or others without the sticky bit.
    public static func read(path: String, requireTrustedOwner: Bool, limit: Int = 16 << 20) -> Result<[UInt8], ReadError> {
        var absolute = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else {
                return .failure(.system(SystemCallError("getcwd", path: path, errno: .current)))
            }
            let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            absolute = (cwd == "/" ? "" : cwd) + "/" + path
        }
        let parts = absolute.split(separator: "/").map(String.init)
        guard !parts.isEmpty else { return .failure(.notRegularFile(path: path)) }
        var fd: FileDescriptor
        switch Syscalls.open("/", [.pathOnly, .directory]) {
        case .success(let opened): fd = opened
        case .failure(let e): return .failure(.system(SystemCallError("open", path: "/", errno: e)))
        }
        var walked = ""
        for (i, part) in parts.enumerated() {
            if requireTrustedOwner, let why = untrustedDirectory(fd) {
                fd.close()
                return .failure(.untrusted(path: path, why: "is in \(walked.isEmpty ? "/" : walked), which \(why); refusing to enforce it"))
            }
            let last = i == parts.count - 1
            walked += "/" + part
            let flags: OpenFlags = last ? [.pathOnly, .noFollow] : [.pathOnly, .noFollow, .directory]
            let next = part.withCString { Syscalls.openAt(fd, $0, flags) }
            fd.close()
            switch next {
            case .success(let n): fd = n
            case .failure(let e) where e == .noEntry: return .failure(.missing(path: path))
            case .failure(let e) where e == .notDirectory || e == .tooManyLinks:
                return .failure(
                    .untrusted(
                        path: path, why: "passes through \(walked), which is a symlink or not a directory; give the file's real path"))
            case .failure(let e): return .failure(.system(SystemCallError("openat", path: walked, errno: e)))
            }
        }
        let pathFD = fd
        return readPinned(fd, display: path, limit: limit) { st in
            if st.type == .symlink { return .untrusted(path: path, why: "is a symlink; give the path of the file itself") }
            guard requireTrustedOwner else { return nil }
            if st.uid != 0 && st.uid != geteuid() {
                return .untrusted(
                    path: path, why: "is owned by uid \(st.uid), not by root or the user running the scan; refusing to enforce it")
            }
            if st.mode & 0o022 != 0 {
                return .untrusted(
                    path: path, why: "is writable by group or others (mode \(String(st.mode & 0o7777, radix: 8))); refusing to enforce it")
            }
            if let why = aclGrantsWrite(pathFD) { return .untrusted(path: path, why: "\(why); refusing to enforce it") }
            return nil
        }
    }

    /// Why a directory at `path` could be swapped by someone other than root or the caller: the first
    /// directory above it (from `/` down) that another user owns or may write without the sticky bit,
    /// or a symlink on the way; nil when none. With every directory above it trusted, nobody else can
    /// change what `path` names.
    public static func untrustedAncestor(of path: String) -> String? {
        let parts = CurrentProcess.absolutePath(path).split(separator: "/").map(String.init).dropLast()
        var fd: FileDescriptor
        switch Syscalls.open("/", [.pathOnly, .directory]) {
        case .success(let opened): fd = opened
        case .failure(let e): return "/ cannot be opened (\(e))"
        }
        defer { fd.close() }
        var walked = "/"
        for part in parts {
            if let why = untrustedDirectory(fd) { return "\(walked) \(why)" }
            walked += (walked == "/" ? "" : "/") + part
            switch part.withCString({ Syscalls.openAt(fd, $0, [.pathOnly, .noFollow, .directory]) }) {
            case .success(let next):
                fd.close()
                fd = next
            case .failure(let e): return "\(walked) cannot be opened as a directory without following a symlink (\(e))"
            }
        }
        if let why = untrustedDirectory(fd) { return "\(walked) \(why)" }
        return nil
    }

    /// Why a directory could be changed by someone other than root or the caller, or nil. A sticky
    /// directory (such as /tmp) may be writable by others: they cannot replace what root or the caller
    /// owns in it.
    private static func untrustedDirectory(_ fd: FileDescriptor) -> String? {
        guard case .success(let st) = Syscalls.stat(fd: fd) else { return "cannot be examined" }
        if st.uid != 0 && st.uid != geteuid() { return "is owned by uid \(st.uid)" }
        let sticky = st.mode & 0o1000 != 0
        // With an ACL the group bits are its mask: name the entry that grants write rather than the bits.
        if !sticky, let why = aclGrantsWrite(fd) { return why }
        if st.mode & 0o022 != 0 && !sticky { return "is writable by group or others and not sticky" }
        return nil
    }

    /// Whether the access ACL of the object held by `fd` (an `O_PATH` descriptor) lets anyone but root or
    /// the caller write it: a named user other than them, or a group entry, with write after the mask.
    static func aclGrantsWrite(_ fd: FileDescriptor) -> String? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = "/proc/self/fd/\(fd.rawValue)".withCString { path in
            // Following /proc/self/fd/N reaches the object the descriptor holds, nothing else.
            buffer.withUnsafeMutableBytes { pd_getxattr_following(path, "system.posix_acl_access", $0.baseAddress, $0.count) }
        }
        if n < 0 {
            let e = errno
            return e == ENODATA || e == EOPNOTSUPP ? nil : "its ACL cannot be read (\(Errno(e)))"
        }
        guard let acl = try? buffer.withUnsafeBytes({ try PosixACL(xattr: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else {
            return "its ACL cannot be decoded"
        }
        let mask = acl.mask ?? 7
        let me = geteuid()
        for e in acl.entries where e.permissions & mask & 2 != 0 {
            switch e.tag {
            case .user where e.id != 0 && e.id != me: return "has an ACL entry user:\(e.id) that grants write"
            case .group: return "has an ACL entry group:\(e.id) that grants write"
            case .groupObject: return "has an ACL that grants write to its group"
            default: continue
            }
        }
        return nil
    }

    /// Reads the file held by an `O_PATH` descriptor (which it closes): checks it is a regular file, then
    /// opens it for reading through `/proc/self/fd` — so a FIFO or device is never opened — and checks the
    /// opened file is the same inode.
    private static func readPinned(
        _ pathFD: FileDescriptor, display: String, limit: Int,
        check: (FileStatus) -> ReadError?
    ) -> Result<[UInt8], ReadError> {
        defer { pathFD.close() }
        let st: FileStatus
        switch Syscalls.stat(fd: pathFD) {
        case .success(let s): st = s
        case .failure(let e): return .failure(.system(SystemCallError("statx", path: display, errno: e)))
        }
        if let problem = check(st) { return .failure(problem) }
        guard st.type == .file else { return .failure(.notRegularFile(path: display)) }
        let fd: FileDescriptor
        switch Syscalls.open("/proc/self/fd/\(pathFD.rawValue)", [.readOnly, .nonBlocking, .closeOnExec]) {
        case .success(let opened): fd = opened
        case .failure(let e): return .failure(.system(SystemCallError("open", path: display, errno: e)))
        }
        return fd.closeAfter { fd in
            guard case .success(let again) = Syscalls.stat(fd: fd), again.isSameInode(as: st) else {
                return .failure(.untrusted(path: display, why: "changed while it was being opened"))
            }
            return readAll(fd: fd, display: display, limit: limit)
        }
    }

    private static func readAll(fd: FileDescriptor, display: String, limit: Int) -> Result<[UInt8], ReadError> {
        switch Syscalls.stat(fd: fd) {
        case .success(let st) where st.type != .file: return .failure(.notRegularFile(path: display))
        case .failure(let e): return .failure(.system(SystemCallError("statx", path: display, errno: e)))
        default: break
        }
        var out = [UInt8]()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { chunk.deallocate() }
        while true {
            switch Syscalls.read(fd, into: chunk) {
            case .success(0): return .success(out)
            case .success(let n):
                out.append(contentsOf: chunk[0..<n])
                if out.count > limit { return .failure(.tooLarge(path: display, limit: limit)) }
            case .failure(let e): return .failure(.system(SystemCallError("read", path: display, errno: e)))
            }
        }
    }
}
