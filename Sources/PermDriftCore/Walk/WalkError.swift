/// Something the walk could not read. Every error makes the scan incomplete: its result cannot be
/// trusted to show "no drift" under `path`.
public struct WalkError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: HostPath
    /// The system call that failed, when one did.
    public let failure: SystemCallFailure?
    public let message: String

    public init(path: HostPath, syscall: String, errno: Errno, message: String? = nil) {
        self.init(path: path, failure: SystemCallFailure(syscall, errno: errno), message: message)
    }

    public init(path: HostPath, failure: SystemCallFailure, message: String? = nil) {
        self.path = path
        self.failure = failure
        self.message = message ?? failure.errno.message
    }

    public init(path: HostPath, message: String) {
        self.path = path
        failure = nil
        self.message = message
    }

    /// The system call that failed, when one did.
    public var syscall: String? { failure?.syscall }
    public var errno: Errno? { failure?.errno }

    public var description: String {
        if let failure { return failure.describe(path: path.description, message: message) }
        return "\(path): \(message)"
    }
}

/// A directory the walk did not enter because it is the root of another mount.
public struct SkippedMount: Hashable, Sendable {
    public let path: HostPath
    public let reason: String
}
