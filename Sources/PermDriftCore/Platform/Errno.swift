import CPermDrift
import Glibc

/// An `errno` value from a failed system call, with its symbolic name.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The symbolic name, such as `EACCES`.
    public var name: String {
        if let name = pd_errno_name(rawValue) { return String(cString: name) }
        return "E\(rawValue)"
    }

    /// The C library's description, such as "Permission denied".
    public var message: String { String(cString: strerror(rawValue)) }

    public var description: String { "\(name) (\(message))" }

    static var current: Errno { Errno(errno) }

    public static let noEntry = Errno(ENOENT)
    public static let accessDenied = Errno(EACCES)
    public static let notDirectory = Errno(ENOTDIR)
    public static let tooManyLinks = Errno(ELOOP)
    public static let noData = Errno(ENODATA)
    public static let notSupported = Errno(EOPNOTSUPP)
    public static let rangeTooSmall = Errno(ERANGE)
    public static let noSystemCall = Errno(ENOSYS)
    public static let notPermitted = Errno(EPERM)
    public static let staleHandle = Errno(ESTALE)
}

/// A system call that failed, naming the call and the object it was made on.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public let syscall: String
    public let path: String
    public let errno: Errno

    public init(_ syscall: String, path: String, errno: Errno) {
        self.syscall = syscall
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(path): \(syscall): \(errno)" }
}
