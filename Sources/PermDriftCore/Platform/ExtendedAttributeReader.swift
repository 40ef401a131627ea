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
    /// The attributes permdrift reads.
    enum Attribute {
        case accessACL, defaultACL, capability

        var name: String {
            switch self {
            case .accessACL: "system.posix_acl_access"
            case .defaultACL: "system.posix_acl_default"
            case .capability: "security.capability"
            }
        }

        /// The name as a C string made once (a Swift String argument would be copied on every call).
        var cName: UnsafePointer<CChar> {
            switch self {
            case .accessACL: Attribute.cAccess
            case .defaultACL: Attribute.cDefault
            case .capability: Attribute.cCapability
            }
        }

        nonisolated(unsafe) private static let cAccess = UnsafePointer(strdup("system.posix_acl_access")!)
        nonisolated(unsafe) private static let cDefault = UnsafePointer(strdup("system.posix_acl_default")!)
        nonisolated(unsafe) private static let cCapability = UnsafePointer(strdup("security.capability")!)
    }

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
        let r = pd_getxattrat(fd, ".", Attribute.accessACL.cName, nil, 0)
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
    func read(_ target: AttributeTarget, _ attribute: Attribute) -> Result<UnsafeRawBufferPointer?, ACLReadError> {
        for _ in 0..<4 {
            let n = attempt(target, attribute, into: buffer)
            if n >= 0 { return .success(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
            let e = errno
            if e == ENODATA || e == EOPNOTSUPP { return .success(nil) }
            guard e == ERANGE else { return .failure(.system(syscall: syscallName(target), Errno(e))) }
            // The value grew past the buffer: ask for its size and retry.
            let needed = attempt(target, attribute, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
            guard needed > 0 else { continue }
            buffer.deallocate()
            buffer = .allocate(byteCount: max(needed, buffer.count * 2), alignment: 8)
        }
        return .failure(.system(syscall: syscallName(target), .rangeTooSmall))
    }

    /// Reads and decodes an ACL attribute.
    func acl(_ target: AttributeTarget, defaultACL: Bool) -> Result<PosixACL?, ACLReadError> {
        switch read(target, defaultACL ? .defaultACL : .accessACL) {
        case .failure(let e): return .failure(e)
        case .success(nil): return .success(nil)
        case .success(let bytes?):
            // A zero-length value is how some filesystems say "no ACL".
            if bytes.isEmpty { return .success(nil) }
            do { return .success(try PosixACL(xattr: bytes)) } catch { return .failure(.decoding(error)) }
        }
    }

    private func syscallName(_ target: AttributeTarget) -> String {
        switch target {
        case .descriptor: "fgetxattr"
        case .entry: method == .getxattrat ? "getxattrat" : "lgetxattr"
        }
    }

    /// One system call: the value's size, or -1 with `errno` set.
    private func attempt(_ target: AttributeTarget, _ which: Attribute, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let attribute = which.cName
        switch target {
        case .descriptor(let fd):
            return pd_fgetxattr(fd, attribute, buffer.baseAddress, buffer.count)
        case .entry(let parent, let name):
            switch method {
            case .getxattrat:
                return pd_getxattrat(parent, name, attribute, buffer.baseAddress, buffer.count)
            case .procFallback:
                procPath.removeAll(keepingCapacity: true)
                for byte in "/proc/self/fd/\(parent)/".utf8 { procPath.append(CChar(bitPattern: byte)) }
                var p = name
                while p.pointee != 0 { procPath.append(p.pointee); p += 1 }
                procPath.append(0)
                return procPath.withUnsafeBufferPointer { path in
                    pd_lgetxattr(path.baseAddress!, attribute, buffer.baseAddress, buffer.count)
                }
            }
        }
    }
}
