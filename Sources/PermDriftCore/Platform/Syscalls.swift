import CPermDrift
import Glibc

/// Every system call permdrift makes, in one place. Each wrapper retries `EINTR` (in the C shim or
/// here) and reports failure as an `Errno` value instead of a global.
enum Syscalls {
    static let directoryOpenFlags = pd_directory_open_flags()
    static let pathOpenFlags = pd_path_open_flags()

    static func openAt(_ dirfd: Int32, _ name: UnsafePointer<CChar>, flags: Int32) -> Result<Int32, Errno> {
        let fd = pd_openat(dirfd, name, flags)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    /// Opens a directory of a scanned tree relative to its parent, never following a symlink and never
    /// blocking on a FIFO or device swapped in for it.
    static func openDirectory(_ dirfd: Int32, _ name: UnsafePointer<CChar>) -> Result<Int32, Errno> {
        openAt(dirfd, name, flags: directoryOpenFlags)
    }

    static func stat(at dirfd: Int32, _ name: UnsafePointer<CChar>) -> Result<pd_stat, Errno> {
        var out = pd_stat()
        return pd_stat_at(dirfd, name, &out) == 0 ? .success(out) : .failure(.current)
    }

    static func stat(fd: Int32) -> Result<pd_stat, Errno> {
        var out = pd_stat()
        return pd_stat_fd(fd, &out) == 0 ? .success(out) : .failure(.current)
    }

    static func close(_ fd: Int32) {
        // Linux releases the descriptor even when close reports EINTR; never retry.
        _ = Glibc.close(fd)
    }

    static func getdents(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let n = pd_getdents(fd, buffer.baseAddress, buffer.count)
        return n >= 0 ? .success(n) : .failure(.current)
    }

    static func fgetxattr(_ fd: Int32, _ attribute: UnsafePointer<CChar>,
                          _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let n = pd_fgetxattr(fd, attribute, buffer.baseAddress, buffer.count)
        return n >= 0 ? .success(n) : .failure(.current)
    }

    static func getxattrAt(_ dirfd: Int32, _ name: UnsafePointer<CChar>, _ attribute: UnsafePointer<CChar>,
                           _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let n = pd_getxattrat(dirfd, name, attribute, buffer.baseAddress, buffer.count)
        return n >= 0 ? .success(n) : .failure(.current)
    }

    static func lgetxattr(_ path: UnsafePointer<CChar>, _ attribute: UnsafePointer<CChar>,
                          _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let n = pd_lgetxattr(path, attribute, buffer.baseAddress, buffer.count)
        return n >= 0 ? .success(n) : .failure(.current)
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        while true {
            let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func fsync(_ fd: Int32) -> Result<Void, Errno> {
        while true {
            if Glibc.fsync(fd) == 0 { return .success(()) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func renameAt(_ fromDir: Int32, _ from: UnsafePointer<CChar>, _ toDir: Int32,
                         _ to: UnsafePointer<CChar>) -> Result<Void, Errno> {
        Glibc.renameat(fromDir, from, toDir, to) == 0 ? .success(()) : .failure(.current)
    }

    static func unlinkAt(_ dirfd: Int32, _ name: UnsafePointer<CChar>, flags: Int32 = 0) -> Result<Void, Errno> {
        Glibc.unlinkat(dirfd, name, flags) == 0 ? .success(()) : .failure(.current)
    }

    static func createExclusive(_ dirfd: Int32, _ name: UnsafePointer<CChar>, mode: mode_t) -> Result<Int32, Errno> {
        while true {
            let fd = Glibc.openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 { return .success(fd) }
            if errno != EINTR { return .failure(.current) }
        }
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> {
        Glibc.fchmod(fd, mode) == 0 ? .success(()) : .failure(.current)
    }
}
