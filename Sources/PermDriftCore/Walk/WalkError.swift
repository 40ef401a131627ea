/// Something the walk could not read. Every error makes the scan incomplete: its result cannot be
/// trusted to show "no drift" under `path`.
public struct WalkError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: HostPath
    /// The system call that failed, when one did.
    public let syscall: String?
    public let errno: Errno?
    public let message: String

    public init(path: HostPath, syscall: String, errno: Errno, message: String? = nil) {
        self.path = path
        self.syscall = syscall
        self.errno = errno
        self.message = message ?? errno.message
    }

    public init(path: HostPath, message: String) {
        self.path = path
        syscall = nil
        errno = nil
        self.message = message
    }

    public var description: String {
        if let syscall, let errno {
            return "\(path): \(syscall): \(errno.name) (\(message))"
        }
        return "\(path): \(message)"
    }
}

/// A directory the walk did not enter because it is the root of another mount.
public struct SkippedMount: Hashable, Sendable {
    public let path: HostPath
    public let reason: String
}
