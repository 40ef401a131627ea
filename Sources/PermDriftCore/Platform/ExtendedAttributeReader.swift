import CPermDrift
import Glibc

/// Where an extended attribute is read from: an open descriptor, or a name relative to an open parent
/// directory (never following a final symlink).
enum AttributeTarget {
    case descriptor(FileDescriptor)
    case entry(parent: FileDescriptor, name: UnsafePointer<CChar>)
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
        static let accessBytes: StaticString = "system.posix_acl_access"
        static let defaultBytes: StaticString = "system.posix_acl_default"
        static let capabilityBytes: StaticString = "security.capability"
    }

    /// Which of the attributes permdrift reads an entry carries, from one listing of its names.
    struct Presence: Equatable {
        var accessACL = false, defaultACL = false, capability = false
    }

    private var buffer: UnsafeMutableRawBufferPointer
    private var procPath: [CChar] = []
    let method: EntryAttributeMethod
    /// Whether entries' attribute names can be listed without following a symlink (`listxattrat`, or
    /// `llistxattr` through /proc where that is how values are read too).
    let canList: Bool

    init(method: EntryAttributeMethod, canList: Bool = false) {
        self.method = method
        self.canList = canList
        buffer = .allocate(byteCount: 4096, alignment: 8)
    }

    /// Whether `listxattrat` works here (a kernel before 6.13, or a seccomp filter that does not know it,
    /// says ENOSYS or EPERM).
    static func probeListing(directory fd: FileDescriptor, method: EntryAttributeMethod) -> Bool {
        if method == .procFallback { return true }
        let r = pd_listxattrat(fd.rawValue, ".", nil, 0)
        return r >= 0 || (errno != ENOSYS && errno != EPERM)
    }

    /// Lists the entry's attribute names and says which of permdrift's it has. A filesystem without
    /// xattrs has none.
    func presence(_ target: AttributeTarget) -> Result<Presence, Errno> {
        for _ in 0..<4 {
            let n = list(target, into: buffer)
            if n >= 0 { return .success(Self.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))) }
            let e = errno
            if e == EOPNOTSUPP { return .success(Presence()) }
            guard e == ERANGE else { return .failure(Errno(e)) }
            let needed = list(target, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
            guard needed > 0 else { continue }
            buffer.deallocate()
            buffer = .allocate(byteCount: max(needed, buffer.count * 2), alignment: 8)
        }
        return .failure(.rangeTooSmall)
    }

    /// The name of the listing call for `target`, for error messages.
    func listSyscallName(_ target: AttributeTarget) -> String {
        switch target {
        case .descriptor: "flistxattr"
        case .entry: method == .getxattrat ? "listxattrat" : "llistxattr"
        }
    }

    static func parse(_ names: UnsafeRawBufferPointer) -> Presence {
        var presence = Presence()
        var start = 0
        while start < names.count {
            var end = start
            while end < names.count, names[end] != 0 { end += 1 }
            let name = UnsafeRawBufferPointer(rebasing: names[start..<end])
            if Self.equal(name, Attribute.accessBytes) {
                presence.accessACL = true
            } else if Self.equal(name, Attribute.defaultBytes) {
                presence.defaultACL = true
            } else if Self.equal(name, Attribute.capabilityBytes) {
                presence.capability = true
            }
            start = end + 1
        }
        return presence
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        a.count == b.utf8CodeUnitCount && memcmp(a.baseAddress!, b.utf8Start, a.count) == 0
    }

    private func list(_ target: AttributeTarget, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let out = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
        switch target {
        case .descriptor(let fd):
            return pd_flistxattr(fd.rawValue, out, buffer.count)
        case .entry(let parent, let name):
            switch method {
            case .getxattrat:
                return pd_listxattrat(parent.rawValue, name, out, buffer.count)
            case .procFallback:
                fillProcPath(parent: parent, name: name)
                return procPath.withUnsafeBufferPointer { path in pd_llistxattr(path.baseAddress!, out, buffer.count) }
            }
        }
    }

    private func fillProcPath(parent: FileDescriptor, name: UnsafePointer<CChar>) {
        procPath.removeAll(keepingCapacity: true)
        for byte in "/proc/self/fd/\(parent.rawValue)/".utf8 { procPath.append(CChar(bitPattern: byte)) }
        var p = name
        while p.pointee != 0 { procPath.append(p.pointee); p += 1 }
        procPath.append(0)
    }

    deinit { buffer.deallocate() }

    /// Decides once how entries' xattrs are read: `getxattrat` when the kernel has it and no seccomp
    /// filter blocks it, else the `/proc/self/fd` fallback, which needs /proc.
    static func probe(directory fd: FileDescriptor) throws(PlatformUnsupportedError) -> EntryAttributeMethod {
        let r = pd_getxattrat(fd.rawValue, ".", Attribute.accessACL.cName, nil, 0)
        if r >= 0 || (errno != ENOSYS && errno != EPERM) { return .getxattrat }
        guard case .success(let st) = Syscalls.stat(at: .currentDirectory, "/proc/self/fd"), st.type == .directory else {
            throw PlatformUnsupportedError(
                description:
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
            return pd_fgetxattr(fd.rawValue, attribute, buffer.baseAddress, buffer.count)
        case .entry(let parent, let name):
            switch method {
            case .getxattrat:
                return pd_getxattrat(parent.rawValue, name, attribute, buffer.baseAddress, buffer.count)
            case .procFallback:
                fillProcPath(parent: parent, name: name)
                return procPath.withUnsafeBufferPointer { path in
                    pd_lgetxattr(path.baseAddress!, attribute, buffer.baseAddress, buffer.count)
                }
            }
        }
    }
}
