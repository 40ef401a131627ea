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
    public static let ioError = Errno(EIO)
    public static let wouldBlock = Errno(EWOULDBLOCK)
    public static let invalidArgument = Errno(EINVAL)
}

/// A system call that failed: its name and its errno. The part every error of a failed call shares
/// (`SystemCallError`, `WalkError`), with the one way they are printed.
public struct SystemCallFailure: Hashable, Sendable {
    public let syscall: String
    public let errno: Errno

    public init(_ syscall: String, errno: Errno) {
        self.syscall = syscall
        self.errno = errno
    }

    /// "PATH: SYSCALL: ENAME (MESSAGE)", where the message is the C library's unless one is given.
    public func describe(path: String, message: String? = nil) -> String {
        "\(path): \(syscall): \(errno.name) (\(message ?? errno.message))"
    }
}

/// A system call that failed, naming the call and the object it was made on.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public let failure: SystemCallFailure
    public let path: String

    public init(_ syscall: String, path: String, errno: Errno) {
        self.init(SystemCallFailure(syscall, errno: errno), path: path)
    }

    public init(_ failure: SystemCallFailure, path: String) {
        self.failure = failure
        self.path = path
    }

    public var syscall: String { failure.syscall }
    public var errno: Errno { failure.errno }

    public var description: String { failure.describe(path: path) }
}
