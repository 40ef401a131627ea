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

    /// Reads `relative` (e.g. `etc/passwd`) below the directory `root`, following no symlink below `root`.
    public static func read(relative: String, under root: String, limit: Int = 64 << 20) -> Result<[UInt8], ReadError> {
        let display = root.hasSuffix("/") ? root + relative : root + "/" + relative
        var fd = root.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { return .failure(.system(SystemCallError("open", path: root, errno: .current))) }
        let parts = relative.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let flags = last ? (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : Syscalls.directoryOpenFlags
            let next = part.withCString { Syscalls.openAt(fd, $0, flags: flags) }
            Syscalls.close(fd)
            switch next {
            case .success(let n): fd = n
            case .failure(let e) where e == .noEntry: return .failure(.missing(path: display))
            case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
                return .failure(.notRegularFile(path: display))
            case .failure(let e): return .failure(.system(SystemCallError("openat", path: display, errno: e)))
            }
        }
        defer { Syscalls.close(fd) }
        return readAll(fd: fd, display: display, limit: limit)
    }

    /// Opens a file named on the command line (a baseline, a signature), refusing a symlink, anything but a
    /// regular file, and — when `requireTrustedOwner` — a file that another user than root or the caller
    /// owns or that group or others may write.
    public static func read(path: String, requireTrustedOwner: Bool, limit: Int = 16 << 20) -> Result<[UInt8], ReadError> {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else {
            let e = Errno.current
            if e == .noEntry { return .failure(.missing(path: path)) }
            if e == .tooManyLinks { return .failure(.untrusted(path: path, why: "is a symlink; give the path of the file itself")) }
            return .failure(.system(SystemCallError("open", path: path, errno: e)))
        }
        defer { Syscalls.close(fd) }
        if requireTrustedOwner, case .success(let st) = Syscalls.stat(fd: fd) {
            let me = geteuid()
            if st.uid != 0 && st.uid != me {
                return .failure(.untrusted(path: path, why: "is owned by uid \(st.uid), not by root or the user running the scan; refusing to enforce it"))
            }
            if st.mode & 0o022 != 0 {
                return .failure(.untrusted(path: path, why: "is writable by group or others (mode \(String(st.mode & 0o7777, radix: 8))); refusing to enforce it"))
            }
        }
        return readAll(fd: fd, display: path, limit: limit)
    }

    private static func readAll(fd: Int32, display: String, limit: Int) -> Result<[UInt8], ReadError> {
        switch Syscalls.stat(fd: fd) {
        case .success(let st) where FileType(mode: st.mode) != .file: return .failure(.notRegularFile(path: display))
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
