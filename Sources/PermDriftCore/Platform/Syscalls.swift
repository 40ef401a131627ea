import CPermDrift
import Glibc

/// Every system call permdrift makes, in one place. Each wrapper retries `EINTR` (in the C shim or
/// here) and reports failure as an `Errno` value instead of a global.
enum Syscalls {
    static func openAt(_ directory: FileDescriptor, _ name: UnsafePointer<CChar>, _ flags: OpenFlags) -> Result<FileDescriptor, Errno> {
        let fd = pd_openat(directory.rawValue, name, flags.rawValue)
        return fd >= 0 ? .success(FileDescriptor(rawValue: fd)) : .failure(.current)
    }

    /// Opens `path` (relative to the current directory when not absolute).
    static func open(_ path: String, _ flags: OpenFlags) -> Result<FileDescriptor, Errno> {
        path.withCString { openAt(.currentDirectory, $0, flags) }
    }

    /// Opens `name` under `directory`, creating it with `mode` when it does not exist.
    static func openAt(
        _ directory: FileDescriptor, _ name: UnsafePointer<CChar>, _ flags: OpenFlags,
        creatingWith mode: UInt32
    ) -> Result<FileDescriptor, Errno> {
        while true {
            let fd = Glibc.openat(directory.rawValue, name, flags.union(.create).rawValue, mode_t(mode))
            if fd >= 0 { return .success(FileDescriptor(rawValue: fd)) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    /// Opens a directory of a scanned tree relative to its parent, never following a symlink and never
    /// blocking on a FIFO or device swapped in for it.
    static func openDirectory(_ directory: FileDescriptor, _ name: UnsafePointer<CChar>) -> Result<FileDescriptor, Errno> {
        openAt(directory, name, .scannedDirectory)
    }

    /// A second descriptor of the same open file (`dup`).
    static func duplicate(_ fd: FileDescriptor) -> Result<FileDescriptor, Errno> {
        let new = Glibc.dup(fd.rawValue)
        return new >= 0 ? .success(FileDescriptor(rawValue: new)) : .failure(.current)
    }

    /// statx of `name` under `directory`, not following a final symlink.
    static func stat(at directory: FileDescriptor, _ name: UnsafePointer<CChar>) -> Result<FileStatus, Errno> {
        var out = pd_stat()
        return pd_stat_at(directory.rawValue, name, &out) == 0 ? .success(FileStatus(out)) : .failure(.current)
    }

    static func stat(fd: FileDescriptor) -> Result<FileStatus, Errno> {
        var out = pd_stat()
        return pd_stat_fd(fd.rawValue, &out) == 0 ? .success(FileStatus(out)) : .failure(.current)
    }

    static func close(_ fd: FileDescriptor) {
        // Linux releases the descriptor even when close reports EINTR; never retry.
        _ = Glibc.close(fd.rawValue)
    }

    static func getdents(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let n = pd_getdents(fd.rawValue, buffer.baseAddress, buffer.count)
        return n >= 0 ? .success(n) : .failure(.current)
    }

    /// The `f_type` of the filesystem `fd` is on (`fstatfs`), 0 when it cannot be told.
    static func filesystemType(_ fd: FileDescriptor) -> Int64 { pd_filesystem_type(fd.rawValue) }

    static func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        while true {
            let n = Glibc.read(fd.rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        while true {
            let n = Glibc.write(fd.rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func fsync(_ fd: FileDescriptor) -> Result<Void, Errno> {
        while true {
            if Glibc.fsync(fd.rawValue) == 0 { return .success(()) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func renameAt(
        _ fromDir: FileDescriptor, _ from: UnsafePointer<CChar>, _ toDir: FileDescriptor,
        _ to: UnsafePointer<CChar>
    ) -> Result<Void, Errno> {
        Glibc.renameat(fromDir.rawValue, from, toDir.rawValue, to) == 0 ? .success(()) : .failure(.current)
    }

    static func unlinkAt(_ directory: FileDescriptor, _ name: UnsafePointer<CChar>, flags: Int32 = 0) -> Result<Void, Errno> {
        Glibc.unlinkat(directory.rawValue, name, flags) == 0 ? .success(()) : .failure(.current)
    }

    static func createExclusive(_ directory: FileDescriptor, _ name: UnsafePointer<CChar>, mode: mode_t) -> Result<FileDescriptor, Errno> {
        while true {
            let fd = Glibc.openat(directory.rawValue, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 { return .success(FileDescriptor(rawValue: fd)) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    /// The owner and group of an open file (`fchownat(fd, "", AT_EMPTY_PATH)`).
    static func changeOwner(_ fd: FileDescriptor, uid: UInt32, gid: UInt32) -> Result<Void, Errno> {
        pd_chown_descriptor(fd.rawValue, uid, gid) == 0 ? .success(()) : .failure(.current)
    }

    /// Creates a directory (its mode is `mode` less the umask, so callers chmod it after checking).
    static func makeDirectory(_ path: String, mode: UInt32) -> Result<Void, Errno> {
        Glibc.mkdir(path, mode_t(mode)) == 0 ? .success(()) : .failure(.current)
    }

    static func fchmod(_ fd: FileDescriptor, _ mode: mode_t) -> Result<Void, Errno> {
        Glibc.fchmod(fd.rawValue, mode) == 0 ? .success(()) : .failure(.current)
    }

    /// Takes an exclusive `flock` without waiting (`wouldBlock` when another open file holds it).
    static func lockExclusive(_ fd: FileDescriptor) -> Result<Void, Errno> {
        pd_flock_exclusive(fd.rawValue) == 0 ? .success(()) : .failure(.current)
    }

    /// The host's name (`gethostname`), nil when it cannot be read.
    static func hostName() -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let ok = buffer.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { Glibc.gethostname($0, b.count - 1) == 0 }
        }
        guard ok else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The `d_type` getdents64 gives a directory.
    static let directoryEntryType = UInt8(DT_DIR)

    /// The length of the C string at `start`, looking at no more than `limit` bytes.
    static func cStringLength(_ start: UnsafePointer<CChar>, limit: Int) -> Int { strnlen(start, limit) }
}
