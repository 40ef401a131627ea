import Glibc

/// Writes a file so that readers see the old version or the new one, never a torn one: a temporary file
/// in the same directory, fsync, rename over the target, fsync of the directory.
public enum AtomicFile {
    public static func write(_ text: String, to path: String, mode: mode_t = 0o640) throws(SystemCallError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o640) throws(SystemCallError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw SystemCallError("open", path: path, errno: Errno(EISDIR)) }
        let dirfd = directory.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard dirfd >= 0 else { throw SystemCallError("open", path: directory, errno: .current) }
        defer { Syscalls.close(dirfd) }
        var temporary = ""
        var fd: Int32 = -1
        for attempt in 0..<100 {
            temporary = ".\(name).tmp-\(getpid())-\(attempt)-\(UInt32.random(in: 0...UInt32.max))"
            switch temporary.withCString({ Syscalls.createExclusive(dirfd, $0, mode: mode) }) {
            case .success(let opened): fd = opened
            case .failure(let e) where e.rawValue == EEXIST: continue
            case .failure(let e): throw SystemCallError("openat", path: directory + "/" + temporary, errno: e)
            }
            break
        }
        guard fd >= 0 else { throw SystemCallError("openat", path: path, errno: Errno(EEXIST)) }
        var failure: SystemCallError?
        let tempPath = directory + "/" + temporary
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                switch Syscalls.write(fd, UnsafeRawBufferPointer(rebasing: buffer[offset...])) {
                case .success(let n): offset += n
                case .failure(let e): failure = SystemCallError("write", path: tempPath, errno: e); return
                }
            }
        }
        if failure == nil, case .failure(let e) = Syscalls.fchmod(fd, mode) { failure = SystemCallError("fchmod", path: tempPath, errno: e) }
        if failure == nil, case .failure(let e) = Syscalls.fsync(fd) { failure = SystemCallError("fsync", path: tempPath, errno: e) }
        Syscalls.close(fd)
        if failure == nil, case .failure(let e) = temporary.withCString({ t in name.withCString { n in Syscalls.renameAt(dirfd, t, dirfd, n) } }) {
            failure = SystemCallError("renameat", path: path, errno: e)
        }
        if let failure {
            _ = temporary.withCString { Syscalls.unlinkAt(dirfd, $0) }
            throw failure
        }
        if case .failure(let e) = Syscalls.fsync(dirfd) { throw SystemCallError("fsync", path: directory, errno: e) }
    }
}
