import CPermDrift
import Glibc

/// Where an extended attribute is read from: an open descriptor, or a name relative to an open parent
/// directory (never following a final symlink).
enum AttributeTarget {
    case descriptor(Int32)
    case entry(parent: Int32, name: UnsafePointer<CChar>)
}

/// Why an ACL could not be read.
public enum ACLReadError: Error, Sendable {
    case system(syscall: String, Errno)
    case decoding(ACLDecodingError)
}

/// How this process reads xattrs of entries it does not open.
enum EntryAttributeMethod: Sendable {
    /// `getxattrat(parent, name, AT_SYMLINK_NOFOLLOW, …)` (Linux 6.13+).
    case getxattrat
    /// `lgetxattr("/proc/self/fd/PARENT/name")`: where getxattrat is missing or filtered by seccomp.
    case procFallback
}

/// Thrown when neither way of reading an entry's xattrs without following symlinks is available.
public struct PlatformUnsupportedError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Reads `system.posix_acl_*` and `security.capability` attributes into a reusable buffer. One reader
/// belongs to one thread.
final class ExtendedAttributeReader {
    static let accessACL = "system.posix_acl_access"
    static let defaultACL = "system.posix_acl_default"
    static let capability = "security.capability"

    private var buffer: UnsafeMutableRawBufferPointer
    private var procPath: [CChar] = []
    let method: EntryAttributeMethod

    init(method: EntryAttributeMethod) {
        self.method = method
        buffer = .allocate(byteCount: 4096, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Decides once how entries' xattrs are read: `getxattrat` when the kernel has it and no seccomp
    /// filter blocks it, else the `/proc/self/fd` fallback, which needs /proc.
    static func probe(directory fd: Int32) throws(PlatformUnsupportedError) -> EntryAttributeMethod {
        let r = pd_getxattrat(fd, ".", accessACL, nil, 0)
        if r >= 0 || (errno != ENOSYS && errno != EPERM) { return .getxattrat }
        var st = pd_stat()
        guard pd_stat_at(AT_FDCWD, "/proc/self/fd", &st) == 0, (st.mode & UInt32(S_IFMT)) == UInt32(S_IFDIR) else {
            throw PlatformUnsupportedError(description:
                "getxattrat(2) is unavailable (\(Errno(ENOSYS).name) or blocked by seccomp) and /proc is not mounted: "
                + "permdrift cannot read ACLs without following symlinks, so it refuses to run. Mount /proc or use Linux 6.13+.")
        }
        return .procFallback
    }

    /// Reads one attribute. `nil` when the entry has no such attribute or its filesystem has no xattrs.
    func read(_ target: AttributeTarget, _ attribute: String) -> Result<UnsafeRawBufferPointer?, ACLReadError> {
        for _ in 0..<4 {
            let result = attempt(target, attribute, into: buffer)
            switch result {
            case .success(let n):
                return .success(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .failure(let e) where e.errno == .noData || e.errno == .notSupported:
                return .success(nil)
            case .failure(let e) where e.errno == .rangeTooSmall:
                // The value grew past the buffer: ask for its size and retry.
                let empty = UnsafeMutableRawBufferPointer(start: nil, count: 0)
                guard case .success(let needed) = attempt(target, attribute, into: empty) else { continue }
                buffer.deallocate()
                buffer = .allocate(byteCount: max(needed, buffer.count * 2), alignment: 8)
            case .failure(let e):
                return .failure(.system(syscall: e.syscall, e.errno))
            }
        }
        return .failure(.system(syscall: "getxattr", .rangeTooSmall))
    }

    /// Reads and decodes an ACL attribute.
    func acl(_ target: AttributeTarget, defaultACL: Bool) -> Result<PosixACL?, ACLReadError> {
        switch read(target, defaultACL ? Self.defaultACL : Self.accessACL) {
        case .failure(let e): return .failure(e)
        case .success(nil): return .success(nil)
        case .success(let bytes?):
            // A zero-length value is how some filesystems say "no ACL".
            if bytes.isEmpty { return .success(nil) }
            do { return .success(try PosixACL(xattr: bytes)) } catch { return .failure(.decoding(error)) }
        }
    }

    private struct Failure: Error { let syscall: String; let errno: Errno }

    private func attempt(_ target: AttributeTarget, _ attribute: String,
                         into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Failure> {
        switch target {
        case .descriptor(let fd):
            return Syscalls.fgetxattr(fd, attribute, buffer).mapError { Failure(syscall: "fgetxattr", errno: $0) }
        case .entry(let parent, let name):
            switch method {
            case .getxattrat:
                return Syscalls.getxattrAt(parent, name, attribute, buffer)
                    .mapError { Failure(syscall: "getxattrat", errno: $0) }
            case .procFallback:
                procPath.removeAll(keepingCapacity: true)
                for byte in "/proc/self/fd/\(parent)/".utf8 { procPath.append(CChar(bitPattern: byte)) }
                var p = name
                while p.pointee != 0 { procPath.append(p.pointee); p += 1 }
                procPath.append(0)
                return procPath.withUnsafeBufferPointer { path in
                    Syscalls.lgetxattr(path.baseAddress!, attribute, buffer)
                        .mapError { Failure(syscall: "lgetxattr", errno: $0) }
                }
            }
        }
    }
}
