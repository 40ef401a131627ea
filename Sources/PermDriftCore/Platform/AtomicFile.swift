import Glibc

/// Writes a file so that readers see the old version or the new one, never a torn one: a temporary file
/// in the same directory, fsync, rename over the target, fsync of the directory.
public enum AtomicFile {
    public static func write(_ text: String, to path: String, mode: UInt32 = 0o640) throws(SystemCallError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o640) throws(SystemCallError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw SystemCallError("open", path: path, errno: Errno(EISDIR)) }
        let dirfd: FileDescriptor
        switch Syscalls.open(directory, [.readOnly, .directory, .closeOnExec]) {
        case .success(let opened): dirfd = opened
        case .failure(let e): throw SystemCallError("open", path: directory, errno: e)
        }
        defer { dirfd.close() }
        try write(bytes, in: dirfd, name: name, display: directory, mode: mode)
    }

    /// Writes `name` in the open directory `dirfd` (never re-resolving a path to it); `display` names
    /// the directory in errors.
    public static func write(_ bytes: [UInt8], in dirfd: FileDescriptor, name: String, display directory: String, mode: UInt32 = 0o640)
        throws(SystemCallError)
    {
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
        var temporary = ""
        var opened: FileDescriptor?
        for attempt in 0..<100 {
            temporary = ".\(name).tmp-\(getpid())-\(attempt)-\(UInt32.random(in: 0...UInt32.max))"
            switch temporary.withCString({ Syscalls.createExclusive(dirfd, $0, mode: mode) }) {
            case .success(let fd): opened = fd
            case .failure(let e) where e.rawValue == EEXIST: continue
            case .failure(let e): throw SystemCallError("openat", path: directory + "/" + temporary, errno: e)
            }
            break
        }
        guard let fd = opened else { throw SystemCallError("openat", path: path, errno: Errno(EEXIST)) }
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
        if failure == nil, case .failure(let e) = Syscalls.fchmod(fd, mode) {
            failure = SystemCallError("fchmod", path: tempPath, errno: e)
        }
        if failure == nil, case .failure(let e) = Syscalls.fsync(fd) { failure = SystemCallError("fsync", path: tempPath, errno: e) }
        fd.close()
        if failure == nil,
            case .failure(let e) = temporary.withCString({ t in name.withCString { n in Syscalls.renameAt(dirfd, t, dirfd, n) } })
        {
            failure = SystemCallError("renameat", path: path, errno: e)
        }
        if let failure {
            _ = temporary.withCString { Syscalls.unlinkAt(dirfd, $0) }
            throw failure
        }
        if case .failure(let e) = Syscalls.fsync(dirfd) { throw SystemCallError("fsync", path: directory, errno: e) }
        removeStaleTemporaries(of: name, in: dirfd)
    }

    /// Removes temporary files that an earlier write of `name` left behind when its process was killed
    /// (`.NAME.tmp-PID-…` whose PID no longer runs). Best effort: a directory that cannot be listed (as
    /// under the sandbox, which lets report directories be written but not read) is left as it is.
    static func removeStaleTemporaries(of name: String, in dirfd: FileDescriptor) {
        let listing = Glibc.openat(dirfd.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard listing >= 0, let dir = fdopendir(listing) else {
            if listing >= 0 { FileDescriptor(rawValue: listing).close() }
            return
        }
        defer { closedir(dir) }
        let prefix = Array(".\(name).tmp-".utf8)
        var stale: [String] = []
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            guard entryName.starts(with: prefix) else { continue }
            let rest = entryName.dropFirst(prefix.count).prefix { $0 != UInt8(ascii: "-") }
            guard let pid = Int32(String(decoding: rest, as: UTF8.self)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { stale.append(String(decoding: entryName, as: UTF8.self)) }
        }
        for file in stale { _ = file.withCString { Syscalls.unlinkAt(dirfd, $0) } }
    }
}
